// Package repotest holds tests of the repository itself rather than of one
// package: that the Makefile, the docs and the code agree where nothing
// else would notice them drifting apart.
package repotest
