//go:build e2e

// Package exttoken tests kubectl exttoken end to end: the built plugin
// through the real kubectl, against the real kube-apiserver with the
// Rancher ext token API emulator behind API aggregation.
//
// Rancher users are users.management.cattle.io objects; their kubeconfig
// authenticates as an impersonator ("rancher-proxy", allowed to
// impersonate users and the requesttokenid extra) that acts as the user
// with requesttokenid set to the user's v3 session token, the way
// Rancher's own auth proxy would. kube-apiserver forwards the impersonated
// user and extra to the emulator as X-Remote-User and
// X-Remote-Extra-Requesttokenid; TestIdentityReachesTheEmulator checks it.
package exttoken

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"

	"github.com/kubectl-tokens/kubectl-tokens/test/emulators/rancher"
	"github.com/kubectl-tokens/kubectl-tokens/test/plugintest"
	"github.com/kubectl-tokens/kubectl-tokens/test/testenv"
)

var (
	env    *testenv.Env
	runner *plugintest.Runner
	// proxyKC is the impersonator's kubeconfig, the base of every Rancher
	// user's kubeconfig.
	proxyKC *clientcmdapi.Config

	emuOnce sync.Once
	emu     *rancher.Emulator
	emuErr  error
)

// bearerRE is Rancher's bearer token: ext/<name>:<54 characters>.
var bearerRE = regexp.MustCompile(`^ext/(token-[a-z0-9]{5}):([bcdfghjklmnpqrstvwxz2456789]{54})$`)

func TestMain(m *testing.M) {
	testenv.ExitUnderShort()
	os.Exit(run(m))
}

func run(m *testing.M) int {
	var err error
	if runner, err = plugintest.NewRunner(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer func() { _ = os.RemoveAll(runner.Home) }()
	if env, err = testenv.Start(testenv.Options{FrontProxy: true, CRDDirs: []string{rancher.CRDDir}}); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer func() { _ = env.Stop() }()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	_, path, err := env.User("rancher-proxy")
	if err == nil {
		err = rancher.AllowImpersonation(ctx, env.Config, "rancher-proxy")
	}
	if err == nil {
		proxyKC, err = clientcmd.LoadFromFile(path)
	}
	if err == nil {
		// The emulator seeds these too; the not-installed test runs
		// before it starts and needs the settings and users to exist.
		err = rancher.Seed(ctx, env.Config, rancher.Main)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	code := m.Run()
	if emu != nil {
		_ = emu.Stop()
	}
	return code
}

// emulator starts the ext API emulator once, on first use, so the test of
// a cluster without it can run first.
func emulator(t *testing.T) *rancher.Emulator {
	t.Helper()
	emuOnce.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		emu, emuErr = rancher.Start(ctx, env.Config, env.FrontProxy, rancher.Options{})
	})
	if emuErr != nil {
		t.Fatalf("starting the Rancher emulator: %v", emuErr)
	}
	return emu
}

// rancherUser is a Rancher user with kubeconfig files.
type rancherUser struct {
	*rancher.User
	Kubeconfig        string // authenticated by a Rancher (session) token
	NoTokenKubeconfig string // same user, no requesttokenid extra
}

var userSeq struct {
	sync.Mutex
	n int
}

// newUser creates a fresh Rancher user, so each test sees only its own
// tokens.
func newUser(t *testing.T, prefix string, o rancher.UserOptions) *rancherUser {
	t.Helper()
	userSeq.Lock()
	userSeq.n++
	o.Name = fmt.Sprintf("u-%s%d", prefix, userSeq.n)
	userSeq.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	u, err := rancher.AddUser(ctx, env.Config, o)
	if err != nil {
		t.Fatal(err)
	}
	ru := &rancherUser{User: u}
	ru.Kubeconfig = writeKubeconfig(t, u.Name, u.TokenID, "")
	ru.NoTokenKubeconfig = writeKubeconfig(t, u.Name, "", "-notoken")
	return ru
}

// newKubeconfigFor writes a kubeconfig for u authenticated by u.TokenID.
func newKubeconfigFor(t *testing.T, u *rancherUser) string {
	t.Helper()
	return writeKubeconfig(t, u.Name, u.TokenID, "-"+u.TokenID)
}

func writeKubeconfig(t *testing.T, user, tokenID, suffix string) string {
	t.Helper()
	kc, err := rancher.UserKubeconfig(proxyKC, user, tokenID)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(env.Dir, user+suffix+".kubeconfig")
	if err := clientcmd.WriteToFile(*kc, path); err != nil {
		t.Fatal(err)
	}
	return path
}

// kubectl runs the real kubectl with a kubeconfig. The flag goes last:
// kubectl refuses flags before a plugin's name.
func kubectl(kubeconfig string, args ...string) plugintest.Result {
	flag := []string{"--kubeconfig", kubeconfig}
	for i, a := range args {
		if a == "--" {
			return runner.Kubectl(append(append(append([]string{}, args[:i]...), flag...), args[i:]...)...)
		}
	}
	return runner.Kubectl(append(append([]string{}, args...), flag...)...)
}

// mustRun runs kubectl and fails the test unless it exits 0.
func mustRun(t *testing.T, kubeconfig string, args ...string) plugintest.Result {
	t.Helper()
	res := kubectl(kubeconfig, args...)
	if res.Code != 0 {
		t.Fatalf("kubectl %s: %s", strings.Join(args, " "), res)
	}
	return res
}

// create makes a token as u and returns its name and value.
func create(t *testing.T, u *rancherUser, args ...string) (name, value string) {
	t.Helper()
	res := mustRun(t, u.Kubeconfig, append([]string{"exttoken", "create"}, args...)...)
	m := bearerRE.FindStringSubmatch(strings.TrimSpace(res.Stdout))
	if m == nil {
		t.Fatalf("create printed no bearer token: %s", res)
	}
	return m[1], m[2]
}

// wantOneErrorLine checks the error contract: exit 1, exactly one stderr
// line starting "error: ", no panic or stack trace.
func wantOneErrorLine(t *testing.T, res plugintest.Result, contains ...string) {
	t.Helper()
	if res.Code != 1 {
		t.Errorf("want exit 1: %s", res)
	}
	stderr := strings.TrimRight(res.Stderr, "\n")
	if strings.Count(stderr, "\n") != 0 || !strings.HasPrefix(stderr, "error: ") {
		t.Errorf("want exactly one stderr line starting 'error: ': %s", res)
	}
	for _, bad := range []string{"panic", "goroutine", ".go:"} {
		if strings.Contains(res.Stderr, bad) {
			t.Errorf("stderr shows %q: %s", bad, res)
		}
	}
	for _, c := range contains {
		if !strings.Contains(res.Stderr, c) {
			t.Errorf("stderr lacks %q: %s", c, res)
		}
	}
}

// tableRows cuts printed table rows into cells at the header's column
// starts (the table printer aligns cells under their headers, and cells
// may be empty), dropping the AGE column, which moves with the clock
// between two commands.
func tableRows(t *testing.T, out string) [][]string {
	t.Helper()
	lines := strings.Split(strings.TrimRight(out, "\n"), "\n")
	header := lines[0]
	var starts []int
	var names []string
	for _, loc := range regexp.MustCompile(`\S+`).FindAllStringIndex(header, -1) {
		starts = append(starts, loc[0])
		names = append(names, header[loc[0]:loc[1]])
	}
	var rows [][]string
	for _, l := range lines {
		var cells []string
		for i, st := range starts {
			if names[i] == "AGE" {
				continue
			}
			end := len(l)
			if i+1 < len(starts) && starts[i+1] < end {
				end = starts[i+1]
			}
			cell := ""
			if st < len(l) {
				cell = strings.TrimSpace(l[st:end])
			}
			cells = append(cells, cell)
		}
		rows = append(rows, cells)
	}
	return rows
}
