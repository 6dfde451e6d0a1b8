package main

import (
	"errors"
	"math"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestSplitEnrollPartsAddUpToTheWallTime(t *testing.T) {
	t0 := time.Unix(1000, 0)
	at := func(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }
	// start 0, token 100, values 1100, helm 1130–1930, credential 4000, exit 4040.
	s := splitEnroll(at(0), at(4040), at(100), at(1100), at(1130), at(1930), at(4000))
	want := enrollSplit{plugin: 100 + 30 + 40, helm: 800, fleet: 1000 + 2070, valuesToHelm: 30, toToken: 100, afterCredential: 40}
	if s != want {
		t.Errorf("splitEnroll = %+v, want %+v", s, want)
	}
	if sum := s.plugin + s.helm + s.fleet; sum != 4040 {
		t.Errorf("plugin + helm + Fleet = %v, want the wall time 4040", sum)
	}
}

func TestSplitManagerCutsTheRunAtEachStepsLastMoment(t *testing.T) {
	t0 := time.Unix(1000, 0)
	at := func(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }
	s := splitManager(at(0), at(26100), at(400), at(3100), at(11000), at(26000))
	want := managerSplit{writes: 400, deploy: 2700, register: 7900, checkIn: 15000, exit: 100}
	if s != want {
		t.Errorf("splitManager = %+v, want %+v", s, want)
	}
	if sum := s.writes + s.deploy + s.register + s.checkIn + s.exit; sum != 26100 {
		t.Errorf("the parts add up to %v, want the wall time 26100", sum)
	}
}

func TestClockLatestIsTheLastMomentAndNamesWhatIsMissing(t *testing.T) {
	c := newClock()
	c.seen["cred/a"] = time.Unix(10, 0)
	c.seen["cred/b"] = time.Unix(12, 0)
	if got, _, ok := c.latest([]string{"cred/a", "cred/b"}); !ok || !got.Equal(time.Unix(12, 0)) {
		t.Errorf("latest = %v, %v; want 12 s", got, ok)
	}
	if _, missing, ok := c.latest([]string{"cred/a", "cred/c"}); ok || missing != "cred/c" {
		t.Errorf("latest with cred/c unseen: ok %v, missing %q", ok, missing)
	}
	c.mark("cred/a") // a second sighting keeps the first moment
	if got, _ := c.at("cred/a"); !got.Equal(time.Unix(10, 0)) {
		t.Errorf("mark moved the first sighting to %v", got)
	}
}

func TestParallelHelmScriptStartsOneHelmPerContextInTheBackgroundAndWaitsForAll(t *testing.T) {
	s := parallelHelmScript("/opt/helm", "/charts/fleet agent", "/tmp/v.yaml", []string{"edge-1", "it's"})
	lines := strings.Split(s, "\n")
	var bg []string
	for _, l := range lines {
		if strings.HasSuffix(l, "& pids+=($!)") {
			bg = append(bg, l)
		}
	}
	if len(bg) != 2 {
		t.Fatalf("%d background helm lines, want 2:\n%s", len(bg), s)
	}
	for i, want := range []string{
		"/opt/helm --kube-context edge-1 -n cattle-fleet-system upgrade --install --create-namespace --values /tmp/v.yaml fleet-agent '/charts/fleet agent' >/dev/null & pids+=($!)",
		`/opt/helm --kube-context 'it'\''s' -n cattle-fleet-system upgrade --install --create-namespace --values /tmp/v.yaml fleet-agent '/charts/fleet agent' >/dev/null & pids+=($!)`,
	} {
		if bg[i] != want {
			t.Errorf("line %d:\n got %s\nwant %s", i, bg[i], want)
		}
	}
	if !strings.Contains(s, `for p in "${pids[@]}"; do wait "$p" || rc=1; done`) || !strings.HasSuffix(s, "exit $rc\n") {
		t.Errorf("the script does not wait for each helm and fail when one failed:\n%s", s)
	}
	if bash, err := exec.LookPath("bash"); err == nil {
		if out, err := exec.Command(bash, "-n", "-c", s).CombinedOutput(); err != nil {
			t.Errorf("bash -n: %v: %s", err, out)
		}
	}
}

func TestParallelHelmScriptFailsWhenOneHelmFails(t *testing.T) {
	bash, err := exec.LookPath("bash")
	if err != nil {
		t.Skip("no bash")
	}
	// "helm" here is a shell function's stand-in: true for edge-1, false
	// for edge-2.
	s := parallelHelmScript("helm", "chart", "v.yaml", []string{"edge-1", "edge-2"})
	stub := "helm() { [ \"$2\" = edge-1 ]; }\n"
	err = exec.Command(bash, "-c", stub+s).Run()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 1 {
		t.Errorf("with one helm failing the script ended with %v, want exit 1", err)
	}
	stub = "helm() { true; }\n"
	if err := exec.Command(bash, "-c", stub+s).Run(); err != nil {
		t.Errorf("with every helm succeeding the script ended with %v", err)
	}
}

func TestOverBudgetIsPerRoundAndLeavesOutUnpairedRounds(t *testing.T) {
	got := overBudget([]float64{5000, 4000, 9000}, []float64{1100, 1200}, []float64{900, 700, 800}, 2000)
	if want := []float64{5000 - (1100 + 900 + 2000), 4000 - (1200 + 700 + 2000)}; !slices.Equal(got, want) {
		t.Errorf("overBudget = %v, want %v", got, want)
	}
}

func TestParseEnrolledChecksCountAndStatus(t *testing.T) {
	ok := []byte(`{"mode":"manager","clusters":[{"context":"a","cluster":"a","status":"Registered"},{"context":"b","cluster":"b","status":"Registered"}]}`)
	cs, err := parseEnrolled(ok, 2, "Registered")
	if err != nil || len(cs) != 2 || cs[1].Cluster != "b" {
		t.Errorf("parseEnrolled = %+v, %v", cs, err)
	}
	if _, err := parseEnrolled(ok, 3, "Registered"); err == nil || !strings.Contains(err.Error(), "2 clusters in the output, want 3") {
		t.Errorf("wrong count: %v", err)
	}
	failed := []byte(`{"clusters":[{"context":"a","status":"Failed","error":"boom"}]}`)
	if _, err := parseEnrolled(failed, 1, "Registered"); err == nil || !strings.Contains(err.Error(), "context a: status Failed, want Registered boom") {
		t.Errorf("a failed cluster: %v", err)
	}
	if _, err := parseEnrolled([]byte("CONTEXT STATUS\n"), 1, "Registered"); err == nil {
		t.Error("a table passed as JSON")
	}
}

func TestPerRoundShareDividesRoundByRound(t *testing.T) {
	s := perRoundShare([]float64{100, 300, 200}, []float64{1000, 1000, 4000})
	if math.Abs(s.Median-0.1) > 1e-9 || s.Min != 0.05 || math.Abs(s.Max-0.3) > 1e-9 {
		t.Errorf("perRoundShare = %+v", s)
	}
}
