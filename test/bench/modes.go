package main

// The pure parts of issue 23's agent-mode vs manager-mode comparisons
// (enroll.go on the emulator rig, realfleet.go on the real Fleet): the
// plain parallel helm script, the per-round budget, the splits of a run
// at the clock's moments and the enroll JSON checks.

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/kubectl-tokens/kubectl-tokens/pkg/fleet"
	"github.com/kubectl-tokens/kubectl-tokens/pkg/shellquote"
)

// enrollSplit is one enroll run cut at the clock's moments: the plugin's
// own time (start to the token's creation, the values to the first helm,
// the last credential to exit), helm's (first start to last end), and
// Fleet's (the token to its values, the last helm's end to the last
// credential: controller, agent start, registration, grant). The three
// add up to the wall time.
type enrollSplit struct {
	plugin, helm, fleet, valuesToHelm float64
	// The plugin's parts: before the token exists, and from the last
	// credential to the exit (valuesToHelm is the third).
	toToken, afterCredential float64
}

// splitEnroll cuts [start, end] at the token's creation, its values, the
// first helm's start, the last helm's end and the last credential.
func splitEnroll(start, end, token, values, firstHelm, lastHelm, lastCred time.Time) enrollSplit {
	return enrollSplit{
		plugin:          msf(token.Sub(start) + firstHelm.Sub(values) + end.Sub(lastCred)),
		helm:            msf(lastHelm.Sub(firstHelm)),
		fleet:           msf(values.Sub(token) + lastCred.Sub(lastHelm)),
		valuesToHelm:    msf(firstHelm.Sub(values)),
		toToken:         msf(token.Sub(start)),
		afterCredential: msf(end.Sub(lastCred)),
	}
}

// managerSplit is one manager-mode enroll cut at the last moment of each
// step over its clusters: the plugin writing (start → the last Fleet
// Cluster created), Fleet deploying the agent (→ the last agent
// Deployment downstream), the agents registering (→ the last credential
// stored), the check-in (→ the last status.agent.lastSeen) and the
// plugin seeing it (→ exit). They add up to the wall time.
type managerSplit struct {
	writes, deploy, register, checkIn, exit float64
}

func splitManager(start, end, clusters, deployments, credentials, checkIns time.Time) managerSplit {
	return managerSplit{
		writes:   msf(clusters.Sub(start)),
		deploy:   msf(deployments.Sub(clusters)),
		register: msf(credentials.Sub(deployments)),
		checkIn:  msf(checkIns.Sub(credentials)),
		exit:     msf(end.Sub(checkIns)),
	}
}

// parallelHelmScript is the plain way to install the agent into every
// context at once: one `helm upgrade --install` per context (the argv
// enroll runs, with the values from a file instead of stdin) started
// with &, then wait for each, failing when any failed.
func parallelHelmScript(helm, chart, values string, contexts []string) string {
	var b strings.Builder
	b.WriteString("set -uo pipefail\npids=()\n")
	for _, c := range contexts {
		argv := fleet.HelmInstall{Upgrade: true, KubeContext: c, ValuesFile: values, Chart: chart}.Argv()
		argv[0] = helm
		fmt.Fprintf(&b, "%s >/dev/null & pids+=($!)\n", shellquote.Join(argv))
	}
	b.WriteString("rc=0\nfor p in \"${pids[@]}\"; do wait \"$p\" || rc=1; done\nexit $rc\n")
	return b.String()
}

// overBudget is, per round, how far enroll's wall went over its budget
// (its time to the values + the plain script's wall of the same round +
// slack), all in ms: > 0 is over. Rounds missing on either side are left
// out.
func overBudget(walls, toValues, scripts []float64, slack float64) []float64 {
	n := min(len(walls), len(toValues), len(scripts))
	out := make([]float64, n)
	for i := range n {
		out[i] = walls[i] - (toValues[i] + scripts[i] + slack)
	}
	return out
}

// enrolledCluster is one cluster of enroll's -o json result.
type enrolledCluster struct {
	Context, Cluster, Status, Error string
}

// parseEnrolled reads enroll's -o json result and checks that it holds
// n clusters, each with status want.
func parseEnrolled(stdout []byte, n int, want string) ([]enrolledCluster, error) {
	var res struct {
		Clusters []enrolledCluster `json:"clusters"`
	}
	if err := json.Unmarshal(stdout, &res); err != nil {
		return nil, fmt.Errorf("output is not the Enrollment JSON: %w", err)
	}
	if len(res.Clusters) != n {
		return nil, fmt.Errorf("%d clusters in the output, want %d", len(res.Clusters), n)
	}
	for _, c := range res.Clusters {
		if c.Status != want {
			return nil, fmt.Errorf("context %s: status %s, want %s %s", c.Context, c.Status, want, c.Error)
		}
	}
	return res.Clusters, nil
}

// perRoundShare divides a[i] by b[i] per round (a ÷ b), e.g. manager
// mode's CPU over agent mode's.
func perRoundShare(a, b []float64) summary { return summarize(pairRatios(a, b)) }
