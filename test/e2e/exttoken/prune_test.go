//go:build e2e

package exttoken

import (
	"bufio"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"

	"github.com/kubectl-tokens/kubectl-tokens/test/emulators/rancher"
)

// extTokenNames is the ground truth of u's ext tokens: their Secrets.
func extTokenNames(t *testing.T, user string) []string {
	t.Helper()
	list, err := env.Clientset().CoreV1().Secrets(rancher.TokenNamespace).List(context.Background(),
		metav1.ListOptions{LabelSelector: rancher.LabelUserID + "=" + user})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, s := range list.Items {
		names = append(names, s.Name)
	}
	slices.Sort(names)
	return names
}

// v3TokenNames is the ground truth of user's v3 tokens.
func v3TokenNames(t *testing.T, user string) []string {
	t.Helper()
	list, err := v3Tokens(t).List(context.Background(),
		metav1.ListOptions{LabelSelector: "authn.management.cattle.io/token-userId=" + user})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, u := range list.Items {
		names = append(names, u.GetName())
	}
	slices.Sort(names)
	return names
}

func v3Tokens(t *testing.T) dynamic.ResourceInterface {
	t.Helper()
	dyn, err := dynamic.NewForConfig(env.Config)
	if err != nil {
		t.Fatal(err)
	}
	return dyn.Resource(rancher.V3TokensGVR)
}

// without is all minus gone plus added, sorted.
func without(all, gone, added []string) []string {
	out := slices.Clone(added)
	for _, n := range all {
		if !slices.Contains(gone, n) {
			out = append(out, n)
		}
	}
	slices.Sort(out)
	return out
}

func sameNames(t *testing.T, what string, got, want []string) {
	t.Helper()
	if !slices.Equal(got, want) {
		var extra, missing []string
		for _, n := range got {
			if !slices.Contains(want, n) {
				extra = append(extra, n)
			}
		}
		for _, n := range want {
			if !slices.Contains(got, n) {
				missing = append(missing, n)
			}
		}
		t.Errorf("%s: %d left, want %d; left but should be gone: %v; gone but should be left: %v", what, len(got), len(want), head(extra), head(missing))
	}
}

func head(s []string) []string { return s[:min(len(s), 10)] }

// TestPruneDeletesExactlyTheSelection prunes ext tokens through the
// aggregated API as their owner, whose kubeconfig authenticates with one
// of the selected tokens, while new matching tokens are being created:
// exactly the listed selection goes, the current token and the newcomers
// stay.
func TestPruneDeletesExactlyTheSelection(t *testing.T) {
	e := emulator(t)
	u := newUser(t, "prune", rancher.UserOptions{})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	const n = 2000
	kinds := []string{"kubeconfig", "session", "kubeconfig", ""}
	names, err := rancher.SeedTokens(ctx, env.Config, n, func(i int) rancher.BulkToken {
		ttl := int64(90 * 24 * time.Hour / time.Millisecond)
		if i%2 == 0 {
			ttl = -1
		}
		return rancher.BulkToken{User: u.Name, Kind: kinds[i%4], TTL: ttl}
	})
	if err != nil {
		t.Fatal(err)
	}
	var selected []string // never expiring kubeconfig tokens: i%4 is 0 or 2
	for i, name := range names {
		if i%2 == 0 && i != 0 {
			selected = append(selected, name)
		}
	}
	before := extTokenNames(t, u.Name)
	current := writeKubeconfig(t, u.Name, names[0], "-current")

	// Newcomers are created once the first page has been answered: the
	// pager lists one snapshot, so they are not part of this prune.
	e.ResetRequests()
	var newcomers []string
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for ctx.Err() == nil && !slices.ContainsFunc(e.Requests(), func(r rancher.Request) bool { return r.Verb == "delete" }) {
			time.Sleep(5 * time.Millisecond)
		}
		got, err := rancher.SeedTokens(ctx, env.Config, 100, func(int) rancher.BulkToken {
			return rancher.BulkToken{User: u.Name, Kind: "kubeconfig", TTL: -1, Description: "created during the prune"}
		})
		if err != nil {
			t.Error(err)
		}
		newcomers = got
	}()
	res := mustRun(t, current, "exttoken", "delete", "--never-expiring", "--kind", "kubeconfig", "--parallel", "16")
	wg.Wait()
	if want := fmt.Sprintf("deleted %d of %d listed", len(selected), len(selected)+1); !strings.Contains(res.Stdout, want) || !strings.Contains(res.Stdout, "0 already gone, 1 skipped, 0 failed") {
		t.Errorf("summary lacks %q: %s", want, res)
	}
	if !strings.Contains(res.Stderr, fmt.Sprintf("token.ext.cattle.io %q skipped: it authenticates this request", names[0])) {
		t.Errorf("no line for the skipped current token: %s", res)
	}
	sameNames(t, "ext tokens after the prune", extTokenNames(t, u.Name), without(before, selected, newcomers))
}

// TestInterruptedPruneFinishesOnARerun interrupts a prune of v3 tokens
// with SIGINT (Ctrl-C) mid-way: it stops with a summary and exit 130, and
// running it again deletes the rest and nothing else.
func TestInterruptedPruneFinishesOnARerun(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	user := fmt.Sprintf("u-int%d", time.Now().UnixNano()%100000)
	const n = 3000
	if err := rancher.SeedLegacyTokens(ctx, env.Config, n, func(i int) rancher.LegacyToken {
		ttl := int64(0)
		if i%2 == 1 {
			ttl = 3600 * 1000
		}
		return rancher.LegacyToken{User: user, TTL: ttl, Derived: true, Value: "secret"}
	}); err != nil {
		t.Fatal(err)
	}
	before := v3TokenNames(t, user)
	var selected []string
	for _, name := range before {
		obj, err := v3Tokens(t).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if obj.Object["ttl"] == int64(0) {
			selected = append(selected, name)
		}
	}
	args := []string{"exttoken", "legacy", "delete", "--never-expiring", "--user-id", user, "--parallel", "2", "--kubeconfig", env.Kubeconfig}
	cmd := runner.Command(ctx, "kubectl", args...)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stdout strings.Builder
	cmd.Stdout = &stdout
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	progress := regexp.MustCompile(`^finished (\d+) of \d+`)
	var lines []string
	sc := bufio.NewScanner(stderr)
	signalled := false
	for sc.Scan() {
		lines = append(lines, sc.Text())
		if m := progress.FindStringSubmatch(sc.Text()); m != nil && m[1] != "0" && !signalled {
			// kubectl execs the plugin: this is the plugin's process.
			if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
				t.Fatal(err)
			}
			signalled = true
		}
	}
	err = cmd.Wait()
	out := stdout.String() + strings.Join(lines, "\n")
	if !signalled || cmd.ProcessState.ExitCode() != 130 {
		t.Fatalf("want exit 130 after SIGINT (signalled %v): %v\n%s", signalled, err, out)
	}
	if !regexp.MustCompile(`deleted \d+ of \d+ listed in .*\ninterrupted: run the same command again`).MatchString(stdout.String()) {
		t.Errorf("no summary after the interruption:\n%s", out)
	}
	mid := v3TokenNames(t, user)
	if len(mid) <= n-len(selected) || len(mid) == n {
		t.Fatalf("the interruption left %d of %d tokens: the test needs it to stop mid-way\n%s", len(mid), n, out)
	}
	res := mustRun(t, env.Kubeconfig, args[:len(args)-2]...)
	if !strings.Contains(res.Stdout, "0 failed") {
		t.Errorf("re-run: %s", res)
	}
	sameNames(t, "v3 tokens after the re-run", v3TokenNames(t, user), without(before, selected, nil))
}

// TestPruneSurvivesThrottling puts a proxy in front of the apiserver that
// answers some deletes 429, with Retry-After (client-go retries those
// itself) and without (the prune's own backoff must): every selected
// token is still deleted, none twice, nothing fails. A proxy rather than
// API priority and fairness settings: APF throttles by load, which a test
// on a shared machine cannot make happen on cue; the proxy does exactly.
func TestPruneSurvivesThrottling(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	user := fmt.Sprintf("u-429x%d", time.Now().UnixNano()%100000)
	const n = 300
	if err := rancher.SeedLegacyTokens(ctx, env.Config, n, func(i int) rancher.LegacyToken {
		return rancher.LegacyToken{User: user, TTL: 0, Derived: true, Value: "secret"}
	}); err != nil {
		t.Fatal(err)
	}
	transport, err := rest.TransportFor(env.Config)
	if err != nil {
		t.Fatal(err)
	}
	target, err := url.Parse(env.Config.Host)
	if err != nil {
		t.Fatal(err)
	}
	proxy := httputil.NewSingleHostReverseProxy(target)
	proxy.Transport = transport
	var deletes, withRetryAfter, withoutRetryAfter atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodDelete {
			switch k := deletes.Add(1); {
			case k%25 == 3:
				withRetryAfter.Add(1)
				w.Header().Set("Retry-After", "1")
				throttled(w)
				return
			case k%100 == 7:
				withoutRetryAfter.Add(1)
				throttled(w)
				return
			}
		}
		proxy.ServeHTTP(w, r)
	}))
	defer srv.Close()
	kc := clientcmdapi.NewConfig()
	kc.Clusters["proxy"] = &clientcmdapi.Cluster{Server: srv.URL}
	kc.AuthInfos["proxy"] = &clientcmdapi.AuthInfo{}
	kc.Contexts["proxy"] = &clientcmdapi.Context{Cluster: "proxy", AuthInfo: "proxy"}
	kc.CurrentContext = "proxy"
	path := filepath.Join(env.Dir, "throttling-proxy.kubeconfig")
	if err := clientcmd.WriteToFile(*kc, path); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = os.Remove(path) }()
	res := mustRun(t, path, "exttoken", "legacy", "delete", "--never-expiring", "--user-id", user)
	if !strings.Contains(res.Stdout, fmt.Sprintf("deleted %d of %d listed", n, n)) || !strings.Contains(res.Stdout, "0 already gone, 0 skipped, 0 failed") {
		t.Errorf("summary: %s", res)
	}
	if withRetryAfter.Load() == 0 || withoutRetryAfter.Load() == 0 {
		t.Errorf("the proxy throttled %d deletes with Retry-After and %d without: the test throttled nothing", withRetryAfter.Load(), withoutRetryAfter.Load())
	}
	if left := v3TokenNames(t, user); len(left) != 0 {
		t.Errorf("%d tokens left after throttling: %v", len(left), head(left))
	}
}

// throttled answers as API priority and fairness does: 429 with a Status.
func throttled(w http.ResponseWriter) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusTooManyRequests)
	_, _ = w.Write([]byte(`{"kind":"Status","apiVersion":"v1","status":"Failure","message":"Too many requests, please try again later.","reason":"TooManyRequests","code":429}`))
}
