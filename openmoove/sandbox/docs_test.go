package sandbox_test

import (
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/openmoove/omq/openmoove/sandbox"
)

// TestDocsCurlCommands replays every curl command of docs/sandbox.md, in
// order, against a sandbox configured as "omq sandbox --api-key om_test_key",
// to prove they work as printed. A "# expect NNN" comment names the status of
// the next command; otherwise it must succeed (below 300).
func TestDocsCurlCommands(t *testing.T) {
	t.Parallel()
	doc, err := os.ReadFile("../../docs/sandbox.md")
	require.NoError(t, err)
	require.GreaterOrEqual(t, replayDoc(t, string(doc)), 20, "the doc's curl commands were found")
}

// TestREADMECurlCommands replays the curl commands of the README's
// "The sandbox" section the same way.
func TestREADMECurlCommands(t *testing.T) {
	t.Parallel()
	readme, err := os.ReadFile("../../README.md")
	require.NoError(t, err)
	section := string(readme)
	i := strings.Index(section, "\n## The sandbox\n")
	require.GreaterOrEqual(t, i, 0, "README has a The sandbox section")
	section = section[i+1:]
	if j := strings.Index(section[3:], "\n## "); j >= 0 {
		section = section[:j+3]
	}
	require.GreaterOrEqual(t, replayDoc(t, section), 5, "the README's curl commands were found")
}

func replayDoc(t *testing.T, doc string) int {
	t.Helper()
	b := setup(t, sandbox.Config{Keys: map[string]string{sandbox.DefaultAPIKey: sandbox.DefaultPartner}})
	cmds := 0
	for _, block := range shellBlocks(doc) {
		expect := 0
		for _, words := range shellCommands(block) {
			switch {
			case len(words) == 3 && words[0] == "#" && words[1] == "expect":
				var err error
				expect, err = strconv.Atoi(words[2])
				require.NoError(t, err)
			case words[0] == "curl":
				status, body := replay(t, b, words)
				if expect != 0 {
					require.Equal(t, expect, status, "%s\n%s", strings.Join(words, " "), body)
				} else {
					require.Less(t, status, 300, "%s\n%s", strings.Join(words, " "), body)
				}
				expect = 0
				cmds++
			}
		}
	}
	return cmds
}

func replay(t *testing.T, b bundle, words []string) (int, string) {
	t.Helper()
	method, target, body := "", "", ""
	header := http.Header{}
	for i := 1; i < len(words); i++ {
		switch w := words[i]; {
		case w == "-s" || w == "-i":
		case w == "-X":
			i++
			method = words[i]
		case w == "-H":
			i++
			k, v, ok := strings.Cut(words[i], ":")
			require.True(t, ok, words[i])
			header.Set(k, strings.TrimSpace(v))
		case w == "-d":
			i++
			body = words[i]
		case strings.HasPrefix(w, "http://127.0.0.1:8090/"):
			target = strings.Replace(w, "127.0.0.1:8090", b.sb.Addr(), 1)
		default:
			t.Fatalf("the doc test does not know curl option %q", w)
		}
	}
	if method == "" {
		method = http.MethodGet
		if body != "" {
			method = http.MethodPost
		}
	}
	req, err := http.NewRequestWithContext(t.Context(), method, target, strings.NewReader(body))
	require.NoError(t, err)
	req.Header = header
	resp, err := b.http.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(data)
}

// shellBlocks returns the bodies of the ```sh blocks of a Markdown text.
func shellBlocks(md string) []string {
	var out []string
	parts := strings.Split(md, "```sh\n")
	for _, p := range parts[1:] {
		body, _, _ := strings.Cut(p, "```")
		out = append(out, body)
	}
	return out
}

// shellCommands splits a block into commands of words the way sh would for
// the subset the doc uses: quotes, backslash-newline continuations, comments
// kept as words.
func shellCommands(block string) [][]string {
	block = strings.ReplaceAll(block, "\\\n", " ")
	var (
		cmds  [][]string
		words []string
		cur   strings.Builder
		inW   bool
		quote rune
	)
	flush := func() {
		if inW {
			words = append(words, cur.String())
			cur.Reset()
			inW = false
		}
	}
	for _, r := range block {
		switch {
		case quote != 0 && r == quote:
			quote = 0
		case quote != 0:
			cur.WriteRune(r)
		case r == '\'' || r == '"':
			quote, inW = r, true
		case r == '\n':
			flush()
			if len(words) > 0 {
				cmds = append(cmds, words)
			}
			words = nil
		case r == ' ' || r == '\t':
			flush()
		default:
			cur.WriteRune(r)
			inW = true
		}
	}
	flush()
	if len(words) > 0 {
		cmds = append(cmds, words)
	}
	return cmds
}
