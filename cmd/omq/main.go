// Command omq carries property-sale events into the OpenMoove Partner API
// through NATS JetStream. Run omq --help for the commands; the README has a
// five-minute tour.
package main

import (
	"context"
	"os"

	"github.com/openmoove/omq/internal/cli"
)

func main() {
	os.Exit(cli.Main(context.Background(), os.Args[1:], &cli.Env{Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr}))
}
