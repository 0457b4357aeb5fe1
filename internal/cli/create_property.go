package cli

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/openmoove/omq/assign"
	"github.com/openmoove/omq/config"
	"github.com/openmoove/omq/events"
	"github.com/openmoove/omq/publisher"
)

func newCreatePropertyCmd(e *Env) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "create-property --first-name … --property-postcode … [--estate-agent-email …]",
		Short: "Queue one property creation (POST /clients/) for the property worker",
		Long: `Queue the creation of one property, with one flag per field of the API's
POST /clients/ body. It is validated now with the API's own rules and words,
as the property worker will complete it: a role missing from the flags may
come from the assignment table (--assignments) and, when no professional is
given at all, --default-estate-agent-email.

--request-id is the idempotency key (your system's id for this sale);
omq generates one when absent and prints it. Queuing the same request id
again never creates a second property.`,
		Example: `  omq create-property --first-name Jane --last-name Doe --email jane@example.com \
    --phone-number 07700900123 --property-address "1 High Street, London" \
    --property-postcode "SW1A 1AA" --estate-agent-email agent@agency.example
  omq create-property … --sale-method modern_auction --auctioneer-email a@auctions.example --request-id crm-4711`,
		Args: cobra.NoArgs,
	}
	cfg := bindConfig(cmd, config.GroupNATS, config.GroupStreams, config.GroupProperties)
	values := map[string]*string{}
	for _, f := range events.CreateFieldNames {
		usage := "the API's " + f
		switch f {
		case "products":
			usage = "product slugs separated by ; (default moove-ready-pack)"
		case "sale_method":
			usage = "standard (default), modern_auction or secure_sale"
		case "request_id":
			usage = "idempotency key; generated when absent"
		}
		values[f] = cmd.Flags().String(strings.ReplaceAll(f, "_", "-"), "", usage)
	}
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		if err := e.loadConfig(cmd, cfg); err != nil {
			return err
		}
		table, err := assign.Load(cfg.Assignments)
		if err != nil {
			return usage(err)
		}
		var c events.CreateProperty
		for name, v := range values {
			if *v != "" {
				_ = c.SetField(name, *v)
			}
		}
		fill := table.EdgeFill(cfg.DefaultEstateAgentEmail)
		probe := c
		if err := probe.Validate(fill); err != nil {
			return usageErrorf("%s; fix the flags (see omq create-property --help)", flagWords(err))
		}
		ctx, cancel := context.WithTimeout(cmd.Context(), 30*time.Second)
		defer cancel()
		nc, _, err := connect(ctx, cfg, "omq create-property")
		if err != nil {
			return err
		}
		defer nc.Close()
		pub, err := publisher.New(nc, publisher.WithPrefix(cfg.Topology().Prefix))
		if err != nil {
			return err
		}
		ack, err := pub.CreateProperty(ctx, c, publisher.WithFill(fill))
		if err != nil {
			return err
		}
		if ack.Duplicate {
			fmt.Fprintf(e.Stdout, "already queued: request %s (%s #%d)\n", ack.ID, ack.Stream, ack.Sequence)
			return nil
		}
		fmt.Fprintf(e.Stdout, "queued request %s (%s #%d)\n", ack.ID, ack.Stream, ack.Sequence)
		return nil
	}
	return cmd
}

// flagWords rewrites a validation error's field names as flags
// ("--phone-number: Invalid phone number format").
func flagWords(err error) string {
	msg := strings.TrimPrefix(err.Error(), "openmoove: invalid create request: ")
	// Only a whole field name opening the message or following "; ":
	// "email" must not rewrite the tail of "estate_agent_email".
	for _, f := range events.CreateFieldNames {
		flag := "--" + strings.ReplaceAll(f, "_", "-") + ": "
		if rest, ok := strings.CutPrefix(msg, f+": "); ok {
			msg = flag + rest
		}
		msg = strings.ReplaceAll(msg, "; "+f+": ", "; "+flag)
	}
	return msg
}
