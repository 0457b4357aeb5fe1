// Package browsertest drives the console in real headless Chromium
// (Debian's chromium package) with chromedp, for the console's browser
// tests. A test without Chromium fails, it does not skip: make test
// installs it.
//
// With OMQ_SCREENSHOTS=1 the tests' Screenshot calls write PNGs into
// docs/console/ of the repository, which docs/console.md shows.
package browsertest

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"
)

// ActionTimeout bounds one Run: a page that never shows what a test
// waits for fails the test instead of hanging it.
const ActionTimeout = 60 * time.Second

// Browser is one headless Chromium with a fresh profile, closed in
// t.Cleanup.
type Browser struct {
	t   testing.TB
	ctx context.Context
}

// chromium is the browser binary: $OMQ_CHROMIUM, else chromium on PATH.
func chromium() (string, error) {
	if p := os.Getenv("OMQ_CHROMIUM"); p != "" {
		return p, nil
	}
	for _, name := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return p, nil
		}
	}
	return "", fmt.Errorf("no chromium on PATH: install it (make test does: apt-get install -y chromium) or set OMQ_CHROMIUM to the binary")
}

// one lets one Chromium run at a time in a test binary: the browser tests
// are parallel to the rest of the package, but several Chromiums at once
// on a 2-core CI machine under -race starved each other past
// ActionTimeout.
var one = make(chan struct{}, 1)

// New starts Chromium headless, without a sandbox (tests run as root in
// CI), with every background fetch off so nothing leaves the machine, a
// window of width × height. It waits while another test of the binary
// holds a browser, and holds this one until t ends.
func New(t testing.TB, width, height int) *Browser {
	t.Helper()
	one <- struct{}{}
	t.Cleanup(func() { <-one })
	bin, err := chromium()
	if err != nil {
		t.Fatal(err)
	}
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(bin),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.Flag("headless", true),
		chromedp.Flag("no-sandbox", true),
		chromedp.Flag("disable-gpu", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-default-apps", true),
		chromedp.Flag("disable-extensions", true),
		chromedp.Flag("no-first-run", true),
		chromedp.Flag("no-default-browser-check", true),
		chromedp.Flag("metrics-recording-only", true),
		chromedp.Flag("mute-audio", true),
		chromedp.WindowSize(width, height),
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(actx)
	t.Cleanup(func() {
		cancel()
		cancelAlloc()
	})
	// Start the browser now, so a missing or broken Chromium fails here.
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("start chromium %s: %v", bin, err)
	}
	return &Browser{t: t, ctx: ctx}
}

// Context is the browser tab's context, for chromedp calls of one's own.
func (b *Browser) Context() context.Context { return b.ctx }

// Do runs the actions in the tab, failing the test on an error or after
// ActionTimeout.
func (b *Browser) Do(actions ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, ActionTimeout)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		b.t.Fatalf("browser: %v", err)
	}
}

// Run runs one action that returns a value, failing the test on an error
// or after ActionTimeout.
func Run[T any](b *Browser, a chromedp.Action[T]) T {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, ActionTimeout)
	defer cancel()
	v, err := chromedp.Run(ctx, a)
	if err != nil {
		b.t.Fatalf("browser: %v", err)
	}
	return v
}

// Text is the visible text of the first element matching the CSS
// selector sel, once it is visible.
func (b *Browser) Text(sel string) string {
	b.t.Helper()
	return Run(b, chromedp.Text(chromedp.CSS(sel), chromedp.NodeVisible))
}

// TextNow is the text of the first element matching sel at this moment,
// "" when there is none. For polling a part htmx swaps: between the query
// and the read of Text the node may be replaced, which chromedp reports
// as an error ("No node with given id found").
func (b *Browser) TextNow(sel string) string {
	b.t.Helper()
	return Run(b, chromedp.Evaluate[string](fmt.Sprintf("document.querySelector(%q)?.textContent ?? ''", sel)))
}

// Count is how many elements match the CSS selector sel now.
func (b *Browser) Count(sel string) int {
	b.t.Helper()
	return Run(b, chromedp.Evaluate[int](fmt.Sprintf("document.querySelectorAll(%q).length", sel)))
}

// Fetch runs fetch(path, init) in the page (so with its cookies and
// origin) and returns the answer's status: what a script on the page, or
// a person with the browser's developer tools, could send.
func (b *Browser) Fetch(path, init string) int {
	b.t.Helper()
	return Run(b, chromedp.Evaluate[int](fmt.Sprintf("fetch(%q, %s).then(r => r.status)", path, init), chromedp.EvalAwaitPromise))
}

// Login logs in on the console's login page at base (http://host:port).
func (b *Browser) Login(base, user, password string) {
	b.t.Helper()
	b.Do(
		chromedp.Navigate(base+"/console/login"),
		chromedp.WaitVisible(chromedp.ID("login")),
		chromedp.SendKeys(chromedp.ID("user"), user),
		chromedp.SendKeys(chromedp.ID("password"), password),
		chromedp.Click(chromedp.ID("login")),
		chromedp.WaitVisible(chromedp.ID("who")),
	)
}

// Screenshot saves the whole page as docs/console/<name>.png when
// OMQ_SCREENSHOTS is set; otherwise it does nothing.
func (b *Browser) Screenshot(name string) {
	b.t.Helper()
	if os.Getenv("OMQ_SCREENSHOTS") == "" {
		return
	}
	png := Run(b, chromedp.FullScreenshot(100)) // 100: PNG, not JPEG
	dir, err := docsDir()
	if err != nil {
		b.t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, name+".png"), png, 0o644); err != nil {
		b.t.Fatal(err)
	}
}

// docsDir is docs/console of the repository the test runs in.
func docsDir() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			out := filepath.Join(dir, "docs", "console")
			return out, os.MkdirAll(out, 0o755)
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("no go.mod above the test's directory")
		}
		dir = parent
	}
}

// DarkMode makes the tab prefer a dark colour scheme, as a system set to
// dark does.
func DarkMode() chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		_, err := cdp.Call(ctx, t, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{
			Features: []*emulation.MediaFeature{{Name: "prefers-color-scheme", Value: "dark"}}})
		return err
	})
}
