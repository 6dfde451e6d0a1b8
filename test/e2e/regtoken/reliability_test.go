//go:build e2e

package regtoken

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/watch"
	"sigs.k8s.io/yaml"

	"github.com/kubectl-tokens/kubectl-tokens/test/emulators/fleet"
	"github.com/kubectl-tokens/kubectl-tokens/test/plugintest"
)

// The controller never answers: --timeout ends the wait with one line
// naming the token and the command that resumes; the token stays (or goes
// with --cleanup-on-failure); nothing is written. values then resumes.
func TestTimeoutKeepsTokenOrCleansUp(t *testing.T) {
	t.Parallel()
	ns := newNamespace(t, "timeout")
	r := newRunner(t)
	res := kubectl(r, "create", "stuck", "-n", ns, "--ttl", "1h", "--timeout", "3s")
	oneLineError(t, res, nil, `"stuck"`, "timed out after 3s", "kubectl regtoken values stuck -n "+ns)
	if !tokenExists(t, ns, "stuck") {
		t.Error("the token was removed without --cleanup-on-failure")
	}
	res = kubectl(r, "create", "stuck2", "-n", ns, "--ttl", "1h", "--timeout", "3s", "--cleanup-on-failure")
	oneLineError(t, res, nil, `"stuck2"`, "timed out after 3s", "deleted (--cleanup-on-failure)")
	if tokenExists(t, ns, "stuck2") {
		t.Error("--cleanup-on-failure left the token")
	}
	if files := dirListing(t, r.Dir); len(files) != 0 {
		t.Errorf("files written: %q", files)
	}
	// The controller comes up: the printed command resumes.
	startEmulator(t, emulatorOpts(ns))
	res = kubectl(r, "values", "stuck", "-n", ns)
	mustSucceed(t, res, "values after a timed-out create")
	if got, _ := os.ReadFile(filepath.Join(r.Dir, "values.yaml")); string(got) != string(valuesSecret(t, ns, "stuck").Data["values"]) {
		t.Error("values.yaml differs from the Secret")
	}
}

// waitForToken blocks until token ns/name exists, by watch.
func waitForToken(t *testing.T, ns, name string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	w, err := dyn.Resource(fleet.GVR).Namespace(ns).Watch(ctx, metav1.ListOptions{FieldSelector: fields.OneTermEqualSelector("metadata.name", name).String()})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	for ev := range w.ResultChan() {
		if ev.Type == watch.Added {
			return
		}
	}
	t.Fatalf("token %s/%s never appeared", ns, name)
}

// SIGINT and SIGTERM while create waits: exit 130/143, one line saying
// what exists in the cluster, no file (temporary or final) left.
func TestSignalDuringWait(t *testing.T) {
	t.Parallel()
	ns := newNamespace(t, "signal")
	for _, c := range []struct {
		sig     syscall.Signal
		code    int
		cleanup bool
	}{
		{syscall.SIGINT, 130, false},
		{syscall.SIGTERM, 143, false},
		{syscall.SIGTERM, 143, true},
	} {
		name := fmt.Sprintf("sig%d-%t", c.code, c.cleanup)
		t.Run(name, func(t *testing.T) {
			r := newRunner(t)
			args := []string{"regtoken", "--kubeconfig", env.Kubeconfig, "-n", ns, "create", name, "--ttl", "1h"}
			if c.cleanup {
				args = append(args, "--cleanup-on-failure")
			}
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			cmd := r.Command(ctx, "kubectl", args...)
			var stdout, stderr bytes.Buffer
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			waitForToken(t, ns, name)
			// kubectl execs the plugin in its own process: the signal
			// reaches kubectl-regtoken.
			if err := cmd.Process.Signal(c.sig); err != nil {
				t.Fatal(err)
			}
			err := cmd.Wait()
			var exitErr *exec.ExitError
			if !errors.As(err, &exitErr) || exitErr.ExitCode() != c.code {
				t.Fatalf("exit %v, want %d\nstderr: %s", err, c.code, stderr.String())
			}
			line := stderr.String()
			if first, rest, ok := strings.Cut(line, "\n"); ok && strings.HasPrefix(first, "Waiting up to ") {
				line = rest // the one line a wait prints up front without a terminal
			}
			if strings.Count(line, "\n") != 1 || !strings.HasPrefix(line, "error: interrupted while waiting") || !strings.Contains(line, `"`+name+`"`) {
				t.Errorf("stderr is not one line about the interrupted wait:\n%s", line)
			}
			if c.cleanup {
				if !strings.Contains(line, "deleted (--cleanup-on-failure)") || tokenExists(t, ns, name) {
					t.Errorf("--cleanup-on-failure: token left or not said:\n%s", line)
				}
			} else if !strings.Contains(line, "the token exists") || !strings.Contains(line, "kubectl regtoken values "+name) || !tokenExists(t, ns, name) {
				t.Errorf("the line does not say the token exists (or it is gone):\n%s", line)
			}
			if files := dirListing(t, r.Dir); len(files) != 0 {
				t.Errorf("files left: %q", files)
			}
			if stdout.Len() != 0 {
				t.Errorf("stdout: %s", stdout.String())
			}
		})
	}
}

// 50 creates at once with generated names: all succeed with distinct
// names, and each values file holds its own token's values.
func TestConcurrentGenerateName(t *testing.T) {
	t.Parallel()
	ns := newNamespace(t, "burst")
	startEmulator(t, emulatorOpts(ns))
	r := newRunner(t)
	r.Timeout = 4 * time.Minute
	const n = 50
	results := make([]plugintest.Result, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i] = kubectl(r, "create", "--generate-name", "burst-", "-n", ns, "--ttl", "1h", "--values-file", fmt.Sprintf("v%02d.yaml", i), "-o", "json", "--timeout", "3m")
		}()
	}
	wg.Wait()
	names := map[string]int{}
	for i, res := range results {
		if res.Code != 0 {
			t.Errorf("create %d: %s", i, res)
			continue
		}
		got := decodeResult(t, res.Stdout)
		if prev, dup := names[got.Name]; dup {
			t.Errorf("creates %d and %d got the same name %s", prev, i, got.Name)
		}
		names[got.Name] = i
		file, err := os.ReadFile(filepath.Join(r.Dir, got.ValuesFile))
		if err != nil {
			t.Errorf("create %d: %v", i, err)
			continue
		}
		secret := valuesSecret(t, ns, got.Name)
		if string(file) != string(secret.Data["values"]) {
			t.Errorf("%s: values file differs from its Secret", got.ValuesFile)
		}
		var v struct {
			TokenName string `json:"tokenName"`
			Token     string `json:"token"`
		}
		if err := yaml.Unmarshal(file, &v); err != nil || v.TokenName != got.Name || v.Token == "" {
			t.Errorf("%s names token %q, want %s (%v)", got.ValuesFile, v.TokenName, got.Name, err)
		}
	}
	if len(names) != n && !t.Failed() {
		t.Errorf("%d distinct names for %d creates", len(names), n)
	}
}

// Secret hygiene: every command that handles the values, at -v=9 (capped
// at 7, where client-go logs no bodies), prints neither the agent token
// nor the values, except values --values-file - whose job that is.
func TestSecretHygieneAtVerbosity9(t *testing.T) {
	t.Parallel()
	ns := newNamespace(t, "hygiene")
	opts := emulatorOpts(ns)
	opts.APIServerURL, opts.APIServerCA = "", ""
	opts.SystemNamespace = "hy-" + ns + "-system"
	startEmulator(t, opts)
	r := newRunner(t)
	res := kubectl(r, "create", "h1", "-n", ns, "--ttl", "1h", "-v=9")
	mustSucceed(t, res, "create -v=9")
	if !strings.Contains(res.Stderr, "capped at -v=7") || !strings.Contains(res.Stderr, `verb="POST"`) {
		t.Fatalf("-v=9 did not log requests (the test would prove nothing):\n%s", res.Stderr)
	}
	values := string(valuesSecret(t, ns, "h1").Data["values"])
	var v struct {
		Token string `json:"token"`
	}
	if err := yaml.Unmarshal([]byte(values), &v); err != nil || len(v.Token) < 20 {
		t.Fatalf("no token in the values: %v", err)
	}
	clean := func(what string, out string) {
		t.Helper()
		if strings.Contains(out, v.Token) || strings.Contains(out, values) {
			t.Errorf("%s printed the token or the values", what)
		}
	}
	clean("create -v=9", res.Stdout+res.Stderr)
	for _, args := range [][]string{
		{"values", "h1", "--values-file", "again.yaml"},
		{"helm", "h1"},
		{"helm", "h1", "-o", "json"},
		{"get", "h1", "-o", "yaml"},
		{"list", "-o", "json"},
		{"create", "h2", "--ttl", "1h", "--values-file", "h2.yaml", "-o", "yaml"},
		{"delete", "h2"},
	} {
		res := kubectl(r, append([]string{"-v=9", "-n", ns}, args...)...)
		mustSucceed(t, res, strings.Join(args, " "))
		clean(strings.Join(args, " "), res.Stdout+res.Stderr)
	}
	res = kubectl(r, "values", "h1", "-n", ns, "--values-file", "-", "-v=9")
	mustSucceed(t, res, "values --values-file -")
	var printed map[string]any
	if err := yaml.Unmarshal([]byte(res.Stdout), &printed); err != nil || !strings.Contains(values, fmt.Sprint(printed["token"])) || printed["apiServerCA"] != caPEM {
		t.Error("values --values-file - does not print the values with the kubeconfig's CA filled in")
	}
	clean("values --values-file - (stderr)", res.Stderr)
	for _, f := range []string{"values.yaml", "again.yaml", "h1-ca.pem", "h2.yaml"} {
		if m := fileMode(t, filepath.Join(r.Dir, f)); m != 0o600 {
			t.Errorf("%s mode %o, want 600", f, m)
		}
	}
}

// The create flow is six requests, no discovery: two access reviews
// (create tokens, get secrets) before anything is created, POST, one
// WATCH, one GET of the Secret and one of the controller's Deployment
// (the chart version the helm command pins) (counted from client-go's
// -v=6 request log).
func TestCreateMakesSixRequests(t *testing.T) {
	t.Parallel()
	ns := newNamespace(t, "requests")
	opts := emulatorOpts(ns)
	opts.Delay = time.Second // within one watch window
	startEmulator(t, opts)
	r := newRunner(t)
	res := kubectl(r, "create", "counted", "-n", ns, "--ttl", "1h", "-v=6")
	mustSucceed(t, res, "create -v=6")
	var requests []string
	for _, line := range strings.Split(res.Stderr, "\n") {
		if i := strings.Index(line, `"Response" verb="`); i >= 0 {
			requests = append(requests, line[i+len(`"Response" `):])
		}
	}
	want := []string{
		`verb="POST" url="` + "https://",
		`verb="GET" url="` + "https://",
		`verb="GET" url="` + "https://",
		`verb="GET" url="` + "https://",
	}
	if len(requests) != len(want)+2 {
		t.Fatalf("%d requests, want 6:\n%s", len(requests), strings.Join(requests, "\n"))
	}
	for _, r := range requests[:2] {
		if !strings.Contains(r, `verb="POST"`) || !strings.Contains(r, "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews") {
			t.Errorf("not an access review before the create: %s", r)
		}
	}
	requests = requests[2:]
	for i, p := range []string{"/apis/fleet.cattle.io/v1alpha1/namespaces/" + ns + "/clusterregistrationtokens?", "/apis/fleet.cattle.io/v1alpha1/namespaces/" + ns + "/clusterregistrationtokens?", "/api/v1/namespaces/" + ns + "/secrets/counted\"", "/apis/apps/v1/namespaces/cattle-fleet-system/deployments/fleet-controller\""} {
		if !strings.HasPrefix(requests[i], want[i]) || !strings.Contains(requests[i], p) {
			t.Errorf("request %d = %s, want %s…%s", i+1, requests[i], want[i], p)
		}
	}
	if !strings.Contains(requests[1], "watch=true") || !strings.Contains(requests[1], "fieldSelector=metadata.name%3Dcounted") {
		t.Errorf("the second request is not a name-filtered watch: %s", requests[1])
	}
}
