package bootstrap

import (
	"errors"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"

	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	k8stesting "k8s.io/client-go/testing"

	"github.com/kubectl-tokens/kubectl-tokens/pkg/cli/clitest"
)

const (
	tok       = "abcdef.0123456789abcdef"
	createReq = "create secrets kube-system/bootstrap-token-abcdef"
	// versionReq is create's flavor detection.
	versionReq = "get /version"
	kubeadmV   = "v1.36.3"
	k3sV       = "v1.31.4+k3s1"
	rke2V      = "v1.31.4+rke2r1"
)

func TestCreate(t *testing.T) {
	existing := ToSecret(&Token{ID: "abcdef", Secret: "ffffffffffffffff"})
	runTable(t, []cmdCase{
		{name: "prints the token it stores", args: []string{"create", tok}, version: kubeadmV,
			stdout: tok + "\n", requests: []string{versionReq, createReq}},
		{name: "a token read from stdin", args: []string{"create", "-"}, stdin: tok + "\n", version: kubeadmV,
			stdout: tok + "\n", requests: []string{versionReq, createReq}},
		{name: "a detected k3s gets the K10 form", args: []string{"create", tok}, version: k3sV,
			stdout: "K10" + hashRootPEM + "::" + tok + "\n",
			stderr: "flavor k3s detected from the server version v1.31.4+k3s1 (pass --flavor to choose)\n", requests: []string{versionReq, createReq}},
		{name: "-o token keeps the short form on k3s", args: []string{"create", tok, "-o", "token"}, version: k3sV,
			stdout: tok + "\n",
			stderr: "flavor k3s detected from the server version v1.31.4+k3s1 (pass --flavor to choose)\n", requests: []string{versionReq, createReq}},
		{name: "client dry run sends nothing", args: []string{"create", tok, "--dry-run=client"},
			stdout: tok + "\n",
			stderr: "flavor kubeadm assumed: a client dry run sends nothing, not even GET /version (pass --flavor to choose)\n" +
				`bootstrap token "abcdef" created (dry run): nothing was sent to the API server; Secret kube-system/bootstrap-token-abcdef of type bootstrap.kubernetes.io/token would hold it` + "\n"},
		{name: "server dry run", args: []string{"create", tok, "--dry-run=server", "--flavor", "kubeadm"},
			stdout:   tok + "\n",
			stderr:   `bootstrap token "abcdef" created (server dry run): the server accepted Secret kube-system/bootstrap-token-abcdef but stored nothing` + "\n",
			requests: []string{createReq}},
		{name: "an existing id", args: []string{"create", tok, "--flavor", "kubeadm"}, objects: []runtime.Object{existing}, exit: 1,
			stderr:   `error: a token with id "abcdef" already exists: pass another token, or delete it first with kubectl bootstrap delete abcdef` + "\n",
			requests: []string{createReq}},
		{name: "a bad --ttl", args: []string{"create", tok, "--ttl", "5x"}, exit: 1,
			stderr: `error: --ttl "5x" is not a duration: pass a duration such as 90m, 12h, 30d or 1d12h, or never` + "\n"},
		{name: "empty --usages", args: []string{"create", tok, "--flavor", "kubeadm", "--usages", ""}, exit: 1,
			stderr: "error: --usages is empty: a token without usages can neither authenticate nor sign cluster-info; pass signing, authentication or both\n"},
		{name: "--join-server needs --print-join-command", args: []string{"create", tok, "--flavor", "kubeadm", "--join-server", "https://lb:6443"}, exit: 1,
			stderr: "error: --join-server is the address in the join command: add --print-join-command or drop --join-server\n"},
		{name: "-o name is not offered", args: []string{"create", tok, "--flavor", "kubeadm", "-o", "name"}, exit: 1,
			stderr: `error: unknown output format "name": use one of token, secure, json, yaml, kyaml, go-template, go-template-file, template, templatefile, jsonpath, jsonpath-as-json, jsonpath-file` + "\n"},
		{name: "another namespace", args: []string{"create", tok, "--flavor", "kubeadm", "-n", "default"}, exit: 1,
			stderr: "error: bootstrap tokens live only in kube-system, where the API server reads them: drop -n default\n"},
		{name: "-o json", args: []string{"create", tok, "--flavor", "kubeadm", "-o", "json", "--description", "rack 7"},
			golden: "create-json", requests: []string{createReq}},
	})
}

func TestCreateReuseHandsOutAMatchingValidToken(t *testing.T) {
	objs := listObjects() // abcdef: "rack 7", kubeadm's group, authentication+signing, 23h left
	runTable(t, []cmdCase{
		{name: "a match is reused, nothing created", args: []string{"create", "--reuse", "--ttl", "12h", "--description", "rack 7", "--flavor", "kubeadm"}, objects: objs,
			stdout:   tok + "\n",
			stderr:   `bootstrap token "abcdef" reused: it is valid until 2026-11-23T04:59:59Z and has the same usages, groups and description (nothing was created)` + "\n",
			requests: []string{listReq}},
		{name: "a join command for the reused token", args: []string{"create", "--reuse", "--ttl", "12h", "--description", "rack 7", "--flavor", "kubeadm", "--print-join-command"}, objects: objs,
			stdout:   "kubeadm join 10.0.0.1:6443 --token " + tok + " --discovery-token-ca-cert-hash " + spkiRoot + "\n",
			stderr:   `bootstrap token "abcdef" reused: it is valid until 2026-11-23T04:59:59Z and has the same usages, groups and description (nothing was created)` + "\n",
			requests: []string{listReq, cpeReq, clusterInfoReq}},
		{name: "--reuse with a TOKEN", args: []string{"create", tok, "--reuse", "--flavor", "kubeadm"}, exit: 1,
			stderr: "error: --reuse hands out an existing token, not the TOKEN given: drop one of them\n"},
	})
	// Only expird matches these usages, groups and description, and it has
	// expired: a new token is created, and that is said.
	fixClock(t)
	f := clitest.NewFactory(clitest.Options{Core: objs})
	res := clitest.Run(t, NewRoot, f, "", "create", "--reuse", "--flavor", "kubeadm", "--usages", "authentication", "--groups", "")
	if res.Exit != 0 || !regexp.MustCompile(`^[a-z0-9]{6}\.[a-z0-9]{16}\n$`).MatchString(res.Stdout) || strings.HasPrefix(res.Stdout, "expird.") ||
		!regexp.MustCompile(`^no bootstrap token with the same usages, groups and description that lives at least --ttl 24h to reuse: bootstrap token "[a-z0-9]{6}" created\n$`).MatchString(res.Stderr) {
		t.Fatalf("got %s", res)
	}
	if r := f.Requests(); len(r) != 2 || r[0] != listReq || !strings.HasPrefix(r[1], "create secrets kube-system/bootstrap-token-") {
		t.Errorf("requests %q", r)
	}
}

func TestCreateStoresKubeadmsSecretForTheFlavor(t *testing.T) {
	for _, tc := range []struct {
		name, version string
		args          []string
		expiration    string // "" : none
		groups        string
	}{
		{"kubeadm, 24h by default", kubeadmV, nil, "2026-11-23T05:00:00Z", "system:bootstrappers:kubeadm:default-node-token"},
		{"a detected k3s gets the k3s group", k3sV, nil, "2026-11-23T05:00:00Z", "system:bootstrappers:k3s:default-node-token"},
		{"a detected rke2 gets the rke2 group", rke2V, nil, "2026-11-23T05:00:00Z", "system:bootstrappers:rke2:default-node-token"},
		{"--ttl with days", kubeadmV, []string{"--ttl", "1d12h"}, "2026-11-23T17:00:00Z", "system:bootstrappers:kubeadm:default-node-token"},
		{"--ttl 0 never expires", kubeadmV, []string{"--ttl", "0"}, "", "system:bootstrappers:kubeadm:default-node-token"},
		{"--ttl never", kubeadmV, []string{"--ttl", "never"}, "", "system:bootstrappers:kubeadm:default-node-token"},
		{"--flavor wins over detection", k3sV, []string{"--flavor", "kubeadm"}, "2026-11-23T05:00:00Z", "system:bootstrappers:kubeadm:default-node-token"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := cmdCase{args: append([]string{"create", tok, "-o", "token"}, tc.args...), version: tc.version, stdout: tok + "\n", requests: []string{versionReq, createReq}}
			if slices.Contains(tc.args, "--flavor") {
				c.requests = []string{createReq}
			}
			if tc.version != kubeadmV && !strings.Contains(strings.Join(tc.args, " "), "--flavor") {
				f, _ := FlavorFromVersion(tc.version)
				c.stderr = "flavor " + string(f) + " detected from the server version " + tc.version + " (pass --flavor to choose)\n"
			}
			f := c.run(t)
			s, ok := storedSecret(t, f, "abcdef")
			if !ok {
				t.Fatal("no Secret stored")
			}
			if got := string(s.Data["expiration"]); got != tc.expiration {
				t.Errorf("expiration %q, want %q", got, tc.expiration)
			}
			if got := string(s.Data["auth-extra-groups"]); got != tc.groups {
				t.Errorf("groups %q, want %q", got, tc.groups)
			}
		})
	}
}

func TestCreateJoinCommands(t *testing.T) {
	kubeadmNote := "flavor kubeadm assumed: server version v1.36.3 is neither k3s nor rke2 (pass --flavor to choose)\n"
	runTable(t, []cmdCase{
		{name: "kubeadm join drops the server's trailing slash", args: []string{"create", tok, "--print-join-command"},
			version: kubeadmV, server: "https://10.0.0.1:6443/",
			stdout: "kubeadm join 10.0.0.1:6443 --token " + tok + " --discovery-token-ca-cert-hash " + spkiRoot + "\n",
			stderr: kubeadmNote, requests: []string{versionReq, cpeReq, clusterInfoReq, createReq}},
		{name: "a proxy server is refused before anything is created", args: []string{"create", tok, "--print-join-command"},
			version: kubeadmV, server: "https://rancher.example.com/k8s/clusters/c-m-1", exit: 1,
			stderr:   `error: the kubeconfig server "https://rancher.example.com/k8s/clusters/c-m-1" has a path (/k8s/clusters/c-m-1): it is a proxy, which nodes cannot join through; pass --join-server https://HOST:PORT, the address of the API server or its load balancer` + "\n",
			requests: []string{versionReq, cpeReq, clusterInfoReq}},
		{name: "a proxy server with --join-server", args: []string{"create", tok, "--print-join-command", "--join-server", "https://lb.example.com"},
			version: kubeadmV, server: "https://rancher.example.com/k8s/clusters/c-m-1",
			stdout: "kubeadm join lb.example.com:6443 --token " + tok + " --discovery-token-ca-cert-hash " + spkiRoot + "\n",
			stderr: kubeadmNote, requests: []string{versionReq, createReq}},
		{name: "k3s install line", args: []string{"create", tok, "--flavor", "k3s", "--print-join-command"},
			golden: "create-join-k3s", requests: []string{createReq}},
		{name: "rke2 config with a portless --join-server", args: []string{"create", tok, "--flavor", "rke2", "--print-join-command", "--join-server", "https://lb.example.com"},
			golden: "create-join-rke2", requests: []string{createReq}},
		{name: "the loopback warning names the printed address", args: []string{"create", tok, "--flavor", "rke2", "--print-join-command"},
			server: "https://127.0.0.1:6443", golden: "create-join-rke2-loopback",
			stderr:   "warning: the join address https://127.0.0.1:9345 is a loopback address that other machines cannot reach: pass --join-server https://ADDRESS:PORT\n",
			requests: []string{createReq}},
		{name: "kubeadm join material as JSON", args: []string{"create", tok, "--print-join-command", "-o", "json", "--flavor", "kubeadm"},
			golden: "create-join-kubeadm-json", requests: []string{cpeReq, clusterInfoReq, createReq}},
		{name: "k3s join material as YAML", args: []string{"create", tok, "--print-join-command", "-o", "yaml", "--flavor", "k3s"},
			golden: "create-join-k3s-yaml", requests: []string{createReq}},
		{name: "the join material is not a secure token", args: []string{"create", tok, "--print-join-command", "-o", "secure", "--flavor", "k3s"}, exit: 1,
			stderr: "error: --print-join-command prints a command, not -o secure: drop one of them (-o json|yaml gives the join material)\n"},
		{name: "--join-server with a path", args: []string{"create", tok, "--print-join-command", "--join-server", "https://lb/x"}, exit: 1,
			version: kubeadmV,
			stderr:  `error: --join-server "https://lb/x" has a path (/x): it is a proxy, which nodes cannot join through; pass https://HOST:PORT, the address of the API server or its load balancer` + "\n"},
	})
}

// What a kubeadm join command reads to find the cluster's join address.
const (
	cpeReq         = "get configmaps kube-system/kubeadm-config"
	clusterInfoReq = "get configmaps kube-public/cluster-info"
)

// A reused token lives at least --ttl from now: one with 18 s left is not
// handed out for --ttl 24h (a new one is created), one that never expires
// always qualifies, and --ttl never takes only a never-expiring one.
func TestCreateReuseHandsOutOnlyATokenThatLivesAtLeastTTL(t *testing.T) {
	match := func(id string, expires *time.Time) runtime.Object {
		return ToSecret(&Token{ID: id, Secret: "0123456789abcdef", Description: "rack 7", Expires: expires,
			Usages: []string{"authentication", "signing"}, Groups: []string{"system:bootstrappers:kubeadm:default-node-token"}})
	}
	inFor := func(d time.Duration) *time.Time { t := testNow.Add(d); return &t }
	for _, tc := range []struct {
		name    string
		objects []runtime.Object
		ttl     string
		reused  string // the ID handed out; "" when a new one is created
	}{
		{"18 s left is too short for --ttl 24h", []runtime.Object{match("short1", inFor(18*time.Second))}, "24h", ""},
		{"23h left is too short for --ttl 24h", []runtime.Object{match("short2", inFor(23*time.Hour))}, "24h", ""},
		{"exactly --ttl left qualifies", []runtime.Object{match("exact1", inFor(24*time.Hour))}, "24h", "exact1"},
		{"the longest of those that qualify", []runtime.Object{match("long01", inFor(48*time.Hour)), match("long02", inFor(72*time.Hour)), match("short3", inFor(time.Minute))}, "24h", "long02"},
		{"a never-expiring token qualifies for any --ttl", []runtime.Object{match("never1", nil)}, "7d", "never1"},
		{"--ttl never takes only a never-expiring token", []runtime.Object{match("year01", inFor(365*24*time.Hour))}, "never", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fixClock(t)
			f := clitest.NewFactory(clitest.Options{Core: tc.objects})
			res := clitest.Run(t, NewRoot, f, "", "create", "--reuse", "--ttl", tc.ttl, "--description", "rack 7", "--flavor", "kubeadm")
			if res.Exit != 0 {
				t.Fatalf("%s", res)
			}
			created := slices.ContainsFunc(f.Requests(), func(r string) bool { return strings.HasPrefix(r, "create ") })
			switch {
			case tc.reused != "" && (created || !strings.HasPrefix(res.Stdout, tc.reused+".") || !strings.Contains(res.Stderr, `bootstrap token "`+tc.reused+`" reused`)):
				t.Errorf("want %s reused, nothing created: %s\nrequests %q", tc.reused, res, f.Requests())
			case tc.reused == "" && (!created || !strings.Contains(res.Stderr, "that lives at least --ttl "+tc.ttl+" to reuse")):
				t.Errorf("want a new token, and why: %s\nrequests %q", res, f.Requests())
			}
		})
	}
}

// Every follow-up an error suggests keeps the connection flags given:
// create's "delete it first", extend's "delete it", and a Forbidden's
// kubectl auth can-i.
func TestHintsKeepTheConnectionFlags(t *testing.T) {
	existing := ToSecret(&Token{ID: "abcdef", Secret: "0123456789abcdef", Usages: []string{"signing"}})
	forbidden := func(f *clitest.Factory) {
		f.Core.PrependReactor("delete", "secrets", func(k8stesting.Action) (bool, runtime.Object, error) {
			return true, nil, apierrors.NewForbidden(schema.GroupResource{Resource: "secrets"}, "bootstrap-token-abcdef", errors.New(`User "dev" cannot delete resource "secrets"`))
		})
	}
	for _, tc := range []struct {
		name  string
		args  []string
		setup func(*clitest.Factory)
		want  string
	}{
		{"create of an existing id", []string{"create", tok, "--flavor", "kubeadm", "--context", "prod", "--kubeconfig", "/k/c"}, nil,
			"delete it first with kubectl bootstrap delete abcdef --kubeconfig=/k/c --context=prod\n"},
		{"extend into the past", []string{"extend", "abcdef", "--expires", "2026-01-01T00:00:00Z", "--context", "prod"}, nil,
			"to end the token now, delete it with kubectl bootstrap delete abcdef --context=prod\n"},
		{"a Forbidden delete", []string{"delete", "abcdef", "--context", "prod", "--user", "dev"}, forbidden,
			"check your rights with: kubectl auth can-i delete secrets -n kube-system --context=prod --user=dev\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fixClock(t)
			f := clitest.NewFactory(clitest.Options{Core: []runtime.Object{existing}})
			if tc.setup != nil {
				tc.setup(f)
			}
			res := clitest.Run(t, NewRoot, f, "", tc.args...)
			if res.Exit != 1 || !strings.HasSuffix(res.Stderr, tc.want) {
				t.Errorf("%s\nwant stderr ending %q", res, tc.want)
			}
		})
	}
}
