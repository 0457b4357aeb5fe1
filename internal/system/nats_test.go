package system_test

import (
	"reflect"
	"testing"

	"github.com/openmoove/omq/config"
	"github.com/openmoove/omq/internal/broker"
	"github.com/openmoove/omq/internal/logging"
	"github.com/openmoove/omq/internal/system"
)

// TestNATSOptionsCarriesEverySetting: omq run and every command reach NATS
// with the same options, so a credential or TLS setting the one forgets,
// both forget, and this test names it.
func TestNATSOptionsCarriesEverySetting(t *testing.T) {
	t.Parallel()
	c := config.Config{NATSURL: "nats://ignored:4222", NATSCreds: "a.creds", NATSNKey: "a.nk", NATSUser: "u", NATSPassword: "p",
		NATSToken: "tok", NATSTLSCA: "ca.pem", NATSTLSCert: "cert.pem", NATSTLSKey: "key.pem"}
	log := logging.Discard()
	got := system.NATSOptions(c, "nats://127.0.0.1:4222", "omq-test", log)
	want := broker.ExternalOptions{URL: "nats://127.0.0.1:4222", Name: "omq-test", CredsFile: "a.creds", NKeyFile: "a.nk", User: "u",
		Password: "p", Token: "tok", TLSCA: "ca.pem", TLSCert: "cert.pem", TLSKey: "key.pem", Logger: log}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("NATSOptions = %+v\nwant %+v", got, want)
	}
	v := reflect.ValueOf(got)
	for i := range v.NumField() {
		if v.Field(i).IsZero() {
			t.Errorf("ExternalOptions.%s is not filled from the settings", v.Type().Field(i).Name)
		}
	}
}
