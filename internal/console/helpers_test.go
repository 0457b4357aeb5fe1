package console_test

import (
	"fmt"
	"net/http"

	"github.com/nats-io/nats.go/jetstream"
)

func jsConsumer(name string) jetstream.ConsumerConfig {
	return jetstream.ConsumerConfig{Durable: name, AckPolicy: jetstream.AckExplicitPolicy}
}

// evilPage is another site's page with a form that posts to target.
func evilPage(target string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		fmt.Fprintf(w, `<!doctype html><form method="post" action=%q><input name="worker" value="milestones"><button id="go">win a prize</button></form>`, target)
	})
}
