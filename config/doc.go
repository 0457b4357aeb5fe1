// Package config holds omq's settings: one struct with documented defaults,
// WithDefaults and Validate, and a loader that reads each setting from, in
// order of precedence, a command-line flag, an environment variable
// (OMQ_<NAME>, with dashes as underscores), and an optional YAML file named
// by --config whose keys are the flag names.
//
// Secrets (the OpenMoove API key, the ingest token, webhook secrets, NATS
// passwords) may also come from a file named by OMQ_<NAME>_FILE, so that they
// never need to appear in a process listing or in the YAML file. A secret's
// value never appears in an error or a log line: Config's String and LogValue
// redact it.
//
// Every setting is declared once, in settings.go, with its flag name, its
// default and its description; flags, environment variables, the YAML file
// and the README's configuration table all derive from that table.
package config
