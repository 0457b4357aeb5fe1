package config_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/openmoove/omq/config"
)

// The poller's, report's and monitor's settings: defaults, environment and
// the checks that keep the intervals in order.
func TestPollAndAlertSettings(t *testing.T) {
	t.Parallel()
	d := config.Defaults()
	if d.PollOverdue != 5*time.Minute || d.PollDueSoon != 15*time.Minute || d.PollInterval != 30*time.Minute ||
		d.AtRiskWithin != 48*time.Hour || d.AlertEvery != time.Hour || d.InvitationPendingDays != 3 {
		t.Fatalf("defaults = %s %s %s %s %s %d", d.PollOverdue, d.PollDueSoon, d.PollInterval, d.AtRiskWithin, d.AlertEvery, d.InvitationPendingDays)
	}
	c, err := load(t, []string{"--poll-overdue", "1s"}, env{"OMQ_POLL_DUE_SOON": "2s", "OMQ_POLL_INTERVAL": "3s", "OMQ_INVITATION_PENDING_DAYS": "7"}, nil, "")
	if err != nil {
		t.Fatal(err)
	}
	if c.PollOverdue != time.Second || c.PollDueSoon != 2*time.Second || c.PollInterval != 3*time.Second || c.InvitationPendingDays != 7 {
		t.Fatalf("loaded %s %s %s %d", c.PollOverdue, c.PollDueSoon, c.PollInterval, c.InvitationPendingDays)
	}
	bad := []struct {
		args []string
		flag string
		text string
	}{
		{[]string{"--poll-overdue", "0s"}, "poll-overdue", "positive duration"},
		{[]string{"--poll-due-soon", "1m"}, "poll-due-soon", "--poll-overdue"},
		{[]string{"--poll-interval", "10m"}, "poll-interval", "--poll-due-soon"},
		{[]string{"--at-risk-within", "-1h"}, "at-risk-within", "positive duration"},
		{[]string{"--alert-every", "0s"}, "alert-every", "positive duration"},
		{[]string{"--invitation-pending-days", "0"}, "invitation-pending-days", "from 1 to 365"},
	}
	for _, b := range bad {
		_, err := load(t, b.args, nil, nil, "")
		var fe *config.FieldError
		if !errors.As(err, &fe) || fe.Flag != b.flag || !strings.Contains(err.Error(), b.text) {
			t.Errorf("%v: err = %v, want --%s and %q", b.args, err, b.flag, b.text)
		}
	}
}
