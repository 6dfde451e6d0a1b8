package bootstrap

import (
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/runtime"

	"github.com/kubectl-tokens/kubectl-tokens/pkg/cli/clitest"
	"github.com/kubectl-tokens/kubectl-tokens/pkg/printer"
)

// listObjects is a kube-system with every kind of bootstrap token Secret.
func listObjects() []runtime.Object {
	return []runtime.Object{
		ToSecret(&Token{ID: "abcdef", Secret: "0123456789abcdef", Description: "rack 7", Expires: at("2026-11-23T04:59:59Z"),
			Usages: []string{"authentication", "signing"}, Groups: []string{"system:bootstrappers:kubeadm:default-node-token"}}),
		ToSecret(&Token{ID: "zzzzzz", Secret: "0123456789abcdef", Usages: []string{"signing"}}),
		ToSecret(&Token{ID: "expird", Secret: "0123456789abcdef", Expires: at("2026-11-20T00:00:00Z"), Usages: []string{"authentication"}}),
		rawSecret("bootstrap-token-offset", map[string]string{"token-id": "offset", "token-secret": "0123456789abcdef",
			"expiration": "2026-12-01T10:00:00+02:00", "usage-bootstrap-authentication": "true", "description": "\x1b[31mred\x1b[0m"}),
		rawSecret("bootstrap-token-qqqqqq", map[string]string{"token-id": "qqqqqq", "description": "broken"}),
	}
}

const listReq = "list secrets kube-system"

func TestList(t *testing.T) {
	runTable(t, []cmdCase{
		{name: "the table", args: []string{"list"}, objects: listObjects(), golden: "list", requests: []string{listReq, certsReq}},
		{name: "wide: status and Secret", args: []string{"list", "-o", "wide"}, objects: listObjects(), golden: "list-wide", requests: []string{listReq, certsReq}},
		{name: "--show-secrets", args: []string{"list", "--show-secrets", "--no-headers"}, objects: listObjects()[:1], requests: []string{listReq, certsReq},
			stdout: "abcdef.0123456789abcdef   23h   2026-11-23T04:59:59Z   authentication,signing   rack 7   system:bootstrappers:kubeadm:default-node-token\n"},
		{name: "json: kubeadm's objects with an id each", args: []string{"list", "-o", "json"}, objects: listObjects(), golden: "list-json", requests: []string{listReq},
			stderr: "warning: skipped invalid bootstrap token Secret kube-system/bootstrap-token-qqqqqq: Secret bootstrap-token-qqqqqq has no token-secret\n"},
		{name: "yaml in UTC", args: []string{"list", "-o", "yaml"}, objects: listObjects()[3:4], requests: []string{listReq},
			stdout: "apiVersion: output.kubeadm.k8s.io/v1alpha3\ndescription: \"\\e[31mred\\e[0m\"\nexpires: \"2026-12-01T08:00:00Z\"\nid: offset\nkind: BootstrapToken\ntoken: offset.****************\nusages:\n- authentication\n"},
		{name: "name", args: []string{"list", "-o", "name"}, objects: listObjects(), requests: []string{listReq},
			stdout: "bootstrap-token/abcdef\nbootstrap-token/expird\nbootstrap-token/offset\nbootstrap-token/zzzzzz\n",
			stderr: "warning: skipped invalid bootstrap token Secret kube-system/bootstrap-token-qqqqqq: Secret bootstrap-token-qqqqqq has no token-secret\n"},
		{name: "the help's jsonpath example prints the IDs", args: []string{"list", "-o", `jsonpath={.id}{"\n"}`}, objects: listObjects()[:3], requests: []string{listReq},
			stdout: "abcdef\nexpird\nzzzzzz\n"},
		{name: "none", args: []string{"list"}, requests: []string{listReq}, stderr: "No bootstrap tokens found in kube-system.\n"},
		{name: "-n kube-system is accepted", args: []string{"list", "-n", "kube-system"}, requests: []string{listReq}, stderr: "No bootstrap tokens found in kube-system.\n"},
		{name: "another namespace", args: []string{"list", "-n", "default"}, exit: 1,
			stderr: "error: bootstrap tokens live only in kube-system, where the API server reads them: drop -n default\n"},
		{name: "a negative chunk size", args: []string{"list", "--chunk-size", "-1"}, exit: 1,
			stderr: "error: --chunk-size -1 is negative: pass 0 for one request, or a page size\n"},
	})
}

func TestListMarksTheKubeadmCertsProxy(t *testing.T) {
	objs := append(listObjects()[:1], proxyToken("2026-11-22T06:00:00Z"), certsSecret(t, certKey, proxyID))
	note := `bootstrap token "proxy1" is the proxy of kube-system/kubeadm-certs: the control-plane certificates are deleted when it expires or is deleted` + "\n"
	runTable(t, []cmdCase{
		{name: "named on stderr", args: []string{"list"}, objects: objs, golden: "list-proxy", stderr: note, requests: []string{listReq, certsReq}},
		{name: "marked in STATUS", args: []string{"list", "-o", "wide"}, objects: objs, golden: "list-proxy-wide", stderr: note, requests: []string{listReq, certsReq}},
		{name: "machine output is kubeadm's, no lookup", args: []string{"list", "-o", "name"}, objects: objs, requests: []string{listReq},
			stdout: "bootstrap-token/abcdef\nbootstrap-token/proxy1\n"},
	})
}

func TestListExpiringWithin(t *testing.T) {
	// abcdef expires in 23h59m59s, expird has expired, offset in 9 days;
	// zzzzzz never does, qqqqqq is malformed.
	runTable(t, []cmdCase{
		{name: "within a day: the expired one too", args: []string{"list", "--expiring-within", "1d"}, objects: listObjects(), golden: "list-expiring", requests: []string{listReq, certsReq}},
		{name: "0: only the expired", args: []string{"list", "--expiring-within", "0", "-o", "name"}, objects: listObjects(), requests: []string{listReq},
			stdout: "bootstrap-token/expird\n"},
		{name: "--fail-if-any exits 3 when any is shown", args: []string{"list", "--expiring-within", "10d", "--fail-if-any", "-o", "name"}, objects: listObjects(), exit: 3,
			stdout:   "bootstrap-token/abcdef\nbootstrap-token/expird\nbootstrap-token/offset\n",
			stderr:   "bootstrap tokens shown: 3; exit 3 (--fail-if-any)\n",
			requests: []string{listReq}},
		{name: "--fail-if-any in the table", args: []string{"list", "--expiring-within", "1h", "--fail-if-any", "--no-headers"}, objects: listObjects(), exit: 3,
			stdout:   "expird   <invalid>   2026-11-20T00:00:00Z   authentication   <none>   <none>\n",
			stderr:   "bootstrap tokens shown: 1; exit 3 (--fail-if-any)\n",
			requests: []string{listReq, certsReq}},
		{name: "--fail-if-any exits 0 when none is", args: []string{"list", "--expiring-within", "1h", "--fail-if-any"}, objects: listObjects()[:2],
			stderr: "No bootstrap tokens expiring within 1h found in kube-system.\n", requests: []string{listReq}},
		{name: "--fail-if-any alone counts every token", args: []string{"list", "--fail-if-any", "-o", "name"}, objects: listObjects()[:2], exit: 3,
			stdout: "bootstrap-token/abcdef\nbootstrap-token/zzzzzz\n", stderr: "bootstrap tokens shown: 2; exit 3 (--fail-if-any)\n", requests: []string{listReq}},
		{name: "never is refused", args: []string{"list", "--expiring-within", "never"}, exit: 1,
			stderr: "error: --expiring-within never selects nothing: pass a duration such as 7d (0 shows only the expired tokens)\n"},
		{name: "a bad duration", args: []string{"list", "--expiring-within", "soon"}, exit: 1,
			stderr: `error: invalid --expiring-within "soon": pass a duration such as 7d (0 shows only the expired tokens)` + "\n"},
	})
}

// A 100,000-character description is cut in its cell, so it pads no row
// to its width; -o json keeps it whole.
func TestListCutsALongDescriptionInItsCell(t *testing.T) {
	fixClock(t)
	long := strings.Repeat("d", 100000)
	objs := []runtime.Object{
		ToSecret(&Token{ID: "abcdef", Secret: "0123456789abcdef", Description: long, Usages: []string{"signing"}}),
		ToSecret(&Token{ID: "bcdefg", Secret: "0123456789abcdef", Description: "rack 7", Usages: []string{"signing"}}),
	}
	res := clitest.Run(t, NewRoot, clitest.NewFactory(clitest.Options{Core: objs}), "", "list")
	if res.Exit != 0 {
		t.Fatalf("%s", res)
	}
	cut := strings.Repeat("d", printer.CellWidth-3) + "..."
	for i, line := range strings.Split(strings.TrimSuffix(res.Stdout, "\n"), "\n") {
		if len(line) > 200 {
			t.Errorf("line %d is %d characters long: %.120s...", i, len(line), line)
		}
		if i == 1 && !strings.Contains(line, cut+"   ") {
			t.Errorf("the long description is not cut to %d characters: %.160s", printer.CellWidth, line)
		}
	}
	res = clitest.Run(t, NewRoot, clitest.NewFactory(clitest.Options{Core: objs}), "", "list", "-o", "json")
	if res.Exit != 0 || !strings.Contains(res.Stdout, `"description": "`+long+`"`) {
		t.Errorf("-o json lost the whole description (exit %d)", res.Exit)
	}
}
