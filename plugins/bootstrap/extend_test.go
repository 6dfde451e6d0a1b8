package bootstrap

import (
	"errors"
	"strings"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	k8stesting "k8s.io/client-go/testing"

	"github.com/kubectl-tokens/kubectl-tokens/pkg/cli/clitest"
	"github.com/kubectl-tokens/kubectl-tokens/pkg/shellquote/shelltest"
)

func TestExtend(t *testing.T) {
	get, patch := "get secrets kube-system/bootstrap-token-abcdef", "patch secrets kube-system/bootstrap-token-abcdef"
	for _, tc := range []struct {
		c          cmdCase
		expiration string // stored afterwards; "-" : the key is gone
	}{
		{cmdCase{name: "--ttl counts from now", args: []string{"extend", "abcdef", "--ttl", "2d"},
			stdout: `bootstrap token "abcdef" extended: expires 2026-11-24T05:00:00Z (2d from now)` + "\n", requests: []string{get, patch}}, "2026-11-24T05:00:00Z"},
		{cmdCase{name: "--expires in UTC, by whole token", args: []string{"extend", tok, "--expires", "2026-12-01T10:00:00+02:00"},
			stdout: `bootstrap token "abcdef" extended: expires 2026-12-01T08:00:00Z (9d3h from now)` + "\n", requests: []string{get, patch}}, "2026-12-01T08:00:00Z"},
		{cmdCase{name: "--ttl never removes the expiration", args: []string{"extend", "abcdef", "--ttl", "never"},
			stdout: `bootstrap token "abcdef" extended: never expires` + "\n", requests: []string{get, patch}}, "-"},
		{cmdCase{name: "an expired token is extended", args: []string{"extend", "expird", "--ttl", "1h"},
			stdout:   `bootstrap token "expird" extended: expires 2026-11-22T06:00:00Z (1h from now)` + "\n",
			requests: []string{"get secrets kube-system/bootstrap-token-expird", "patch secrets kube-system/bootstrap-token-expird"}}, ""},
		{cmdCase{name: "a time in the past is refused", args: []string{"extend", "abcdef", "--expires", "2026-11-22T04:00:00Z"}, exit: 1,
			stderr: "error: --expires 2026-11-22T04:00:00Z is not in the future: to end the token now, delete it with kubectl bootstrap delete abcdef\n", requests: []string{get}}, "2026-11-23T04:59:59Z"},
		{cmdCase{name: "client dry run changes nothing", args: []string{"extend", "abcdef", "--ttl", "2d", "--dry-run"},
			stdout: `bootstrap token "abcdef" extended (dry run): expires 2026-11-24T05:00:00Z (2d from now)` + "\n", requests: []string{get}}, "2026-11-23T04:59:59Z"},
		{cmdCase{name: "a missing token", args: []string{"extend", "absent", "--ttl", "1h"}, exit: 1,
			stderr:   `error: bootstrap token "absent" not found (no Secret kube-system/bootstrap-token-absent): list them with kubectl bootstrap list` + "\n",
			requests: []string{"get secrets kube-system/bootstrap-token-absent"}}, "2026-11-23T04:59:59Z"},
		{cmdCase{name: "neither flag", args: []string{"extend", "abcdef"}, exit: 1,
			stderr: "error: pass --ttl DURATION or --expires TIME: the new expiration\n"}, "2026-11-23T04:59:59Z"},
		{cmdCase{name: "both flags", args: []string{"extend", "abcdef", "--ttl", "1h", "--expires", "2026-12-01T08:00:00Z"}, exit: 1,
			stderr: "error: --ttl and --expires both set the expiration: pass only one\n"}, "2026-11-23T04:59:59Z"},
		{cmdCase{name: "a bad time", args: []string{"extend", "abcdef", "--expires", "tomorrow"}, exit: 1,
			stderr: `error: --expires "tomorrow" is not an RFC3339 time: pass e.g. 2099-12-31T23:59:59Z` + "\n"}, "2026-11-23T04:59:59Z"},
		{cmdCase{name: "a whole token whose secret half does not match is refused", args: []string{"extend", "abcdef.ffffffffffffffff", "--ttl", "2d"}, exit: 1,
			stderr:   `error: bootstrap token "abcdef" not extended: the secret half does not match the stored token "abcdef"; check for a typo, or pass the ID alone` + "\n",
			requests: []string{get}}, "2026-11-23T04:59:59Z"},
	} {
		t.Run(tc.c.name, func(t *testing.T) {
			tc.c.objects = []runtime.Object{listObjects()[0], listObjects()[2]}
			f := tc.c.run(t)
			id := "abcdef"
			if tc.c.args[1] == "expird" {
				id = "expird"
			}
			s, ok := storedSecret(t, f, id)
			if !ok {
				t.Fatal("the Secret is gone")
			}
			got, has := s.Data["expiration"]
			switch {
			case tc.expiration == "-" && has:
				t.Errorf("expiration %q left, want none", got)
			case tc.expiration != "" && tc.expiration != "-" && string(got) != tc.expiration:
				t.Errorf("expiration %q, want %q", got, tc.expiration)
			}
			if string(s.Data["token-secret"]) != "0123456789abcdef" {
				t.Errorf("the patch touched other keys: %v", s.Data)
			}
		})
	}
}

func TestExpirationPatchCarriesTheResourceVersion(t *testing.T) {
	p, err := expirationPatch("42", at("2026-12-01T08:00:00Z"))
	if err != nil {
		t.Fatal(err)
	}
	// base64("2026-12-01T08:00:00Z")
	if want := `{"data":{"expiration":"MjAyNi0xMi0wMVQwODowMDowMFo="},"metadata":{"resourceVersion":"42"}}`; string(p) != want {
		t.Errorf("patch %s, want %s", p, want)
	}
	p, _ = expirationPatch("42", nil)
	if want := `{"data":{"expiration":null},"metadata":{"resourceVersion":"42"}}`; string(p) != want {
		t.Errorf("patch %s, want %s", p, want)
	}
}

func TestExtendRefusesATokenThatChangedMeanwhile(t *testing.T) {
	fixClock(t)
	f := clitest.NewFactory(clitest.Options{Core: listObjects()[:1]})
	f.Core.PrependReactor("patch", "secrets", func(k8stesting.Action) (bool, runtime.Object, error) {
		return true, nil, apierrors.NewConflict(schema.GroupResource{Resource: "secrets"}, "bootstrap-token-abcdef", errors.New("the object has been modified"))
	})
	res := clitest.Run(t, NewRoot, f, "", "extend", "abcdef", "--ttl", "1h")
	if want := `error: bootstrap token "abcdef" changed while it was being extended, not extended: run the command again` + "\n"; res.Exit != 1 || res.Stderr != want || res.Stdout != "" {
		t.Errorf("got %s\nwant stderr %q", res, want)
	}
}

// The stored expiration is cut to the second, so right after --ttl 2h
// the time left is a fraction short of 2h, which kubeadm's floored TTL
// column reads as 1h: extend says what was asked, "2h from now".
func TestExtendSaysTheTTLFromNowNotAFlooredRemainder(t *testing.T) {
	prev := now
	now = func() time.Time { return testNow.Add(500 * time.Millisecond) }
	t.Cleanup(func() { now = prev })
	f := clitest.NewFactory(clitest.Options{Core: listObjects()[:1]})
	res := clitest.Run(t, NewRoot, f, "", "extend", "abcdef", "--ttl", "2h")
	if want := `bootstrap token "abcdef" extended: expires 2026-11-22T07:00:00Z (2h from now)` + "\n"; res.Exit != 0 || res.Stdout != want {
		t.Errorf("got %s\nwant stdout %q", res, want)
	}
}

// Every extend example in the help works when pasted, today and on any
// later day: run on the real clock against a token abcdef.
func TestExtendHelpExamplesWorkWhenPasted(t *testing.T) {
	cmd := NewCmdExtend(clitest.NewFactory(clitest.Options{}), genericiooptions.NewTestIOStreamsDiscard())
	n := 0
	for _, line := range strings.Split(cmd.Example, "\n") {
		line = strings.TrimSpace(line)
		rest, ok := strings.CutPrefix(line, "kubectl bootstrap ")
		if !ok {
			continue
		}
		n++
		args := shelltest.Argv(t, "", rest)
		f := clitest.NewFactory(clitest.Options{Core: listObjects()[:1]})
		if res := clitest.Run(t, NewRoot, f, "", args...); res.Exit != 0 {
			t.Errorf("example %q: %s", line, res)
		}
	}
	if n == 0 {
		t.Fatal("no example found in extend's help")
	}
}
