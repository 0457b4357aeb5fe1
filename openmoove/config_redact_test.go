package openmoove_test

import (
	"strings"
	"testing"

	"github.com/openmoove/omq/openmoove"
)

// A BaseURL is refused with its credentials hidden: the error is logged.
func TestInvalidBaseURLErrorHidesCredentials(t *testing.T) {
	t.Parallel()
	for _, u := range []string{"ftp://u:SECRET_pw@host/", "http://u:SECRET_pw@%zz/", "http://u:SECRET_pw@api.example.com/"} {
		err := openmoove.Config{BaseURL: u, APIKey: "om_x"}.Validate()
		if err == nil {
			t.Errorf("%s accepted", strings.ReplaceAll(u, "SECRET_pw", "…"))
			continue
		}
		if strings.Contains(err.Error(), "SECRET_pw") {
			t.Errorf("error shows the password: %v", err)
		}
	}
}
