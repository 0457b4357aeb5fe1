// Package cli is the omq command line: one file per command, each built by a
// newXCmd(*Env) function and registered in root.go. Commands write to the
// Env's writers, never to os.Stdout directly, so tests run them and read
// what they print.
//
// Exit status: 0 on success, 1 when the work failed, 2 when the command was
// used wrongly (a bad flag, a bad setting, a bad id) — in which case nothing
// was changed and the one-line message names what to fix.
package cli
