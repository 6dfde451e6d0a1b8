//go:build e2e

package realfleet

import (
	"bufio"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/kubectl-tokens/kubectl-tokens/pkg/inventory"
)

// An inventory of two clusters in manager mode: a run interrupted (SIGINT)
// once Fleet has its objects but before the agents checked in, then
// --shard 1/2 and --shard 2/2 as two Jobs of an Indexed Job would: the
// shards together finish exactly the inventory, each cluster in one of
// them, and a run of the whole inventory afterwards finds nothing to do.
func TestShardsOfAnInterruptedInventoryFinishItExactly(t *testing.T) {
	logsOnFailure(t)
	ns := newNamespace(t, "inventory")
	names := []string{down.Clusters[shardA].Name, down.Clusters[shardB].Name}
	inv := filepath.Join(t.TempDir(), "clusters.txt")
	if err := os.WriteFile(inv, []byte(strings.Join(names, "\n")+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	base := []string{"regtoken", "--kubeconfig", kubeconfig, "enroll", "--contexts-from", inv, "-n", ns, "--mode", "manager", "--credential-ttl", "30d", "--timeout", checkInLimit.String(), "-o", "jsonl"}

	t.Run("an interrupted run leaves the clusters half done", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), checkInLimit)
		defer cancel()
		// The plugin itself, as kubectl execs it: the signal reaches it
		// as a terminal's Ctrl-C would.
		r := newRunner(t)
		cmd := r.Command(ctx, filepath.Join(r.BinDir, "kubectl-regtoken"), base[1:]...)
		stderr, err := cmd.StderrPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		waiting := map[string]bool{}
		sc := bufio.NewScanner(stderr)
		var seen []string
		for sc.Scan() && len(waiting) < len(names) {
			line := sc.Text()
			seen = append(seen, line)
			for _, n := range names {
				if strings.HasPrefix(line, n+": waiting for Fleet to deploy the agent") {
					waiting[n] = true
				}
			}
		}
		// Both clusters are written; the run now only waits for Fleet.
		_ = cmd.Process.Signal(syscall.SIGINT)
		go func() {
			for sc.Scan() {
			}
		}()
		err = cmd.Wait()
		if len(waiting) != len(names) || err == nil {
			t.Fatalf("want both clusters waiting and then a non-zero exit, got %v (err %v):\n%s", waiting, err, strings.Join(seen, "\n"))
		}
	})

	done := map[string]string{}
	for _, shard := range []string{"1/2", "2/2"} {
		t.Run("--shard "+shard+" finishes its slice", func(t *testing.T) {
			res := newRunner(t).Kubectl(append(base, "--shard", shard)...)
			if res.Code != 0 {
				t.Fatalf("enroll --shard %s: %s", shard, res)
			}
			s, _ := inventory.ParseShard(shard)
			for _, line := range strings.Split(strings.TrimSpace(res.Stdout), "\n") {
				if line == "" {
					continue
				}
				var cl struct{ Context, Status, Cluster string }
				if err := json.Unmarshal([]byte(line), &cl); err != nil {
					t.Fatalf("stdout line %q: %v", line, err)
				}
				if !s.Has(cl.Context) || done[cl.Context] != "" || (cl.Status != "Registered" && cl.Status != "AlreadyRegistered") {
					t.Errorf("--shard %s: %+v (done before: %q)", shard, cl, done[cl.Context])
				}
				done[cl.Context] = cl.Status
			}
		})
	}
	if len(done) != len(names) {
		t.Fatalf("the shards finished %v, want exactly %v", done, names)
	}

	t.Run("a run of the whole inventory finds every cluster registered", func(t *testing.T) {
		res := newRunner(t).Kubectl(base...)
		if res.Code != 0 || strings.Count(res.Stdout, `"status":"AlreadyRegistered"`) != len(names) {
			t.Fatalf("re-run: %s", res)
		}
	})

	t.Run("remove cleans up", func(t *testing.T) {
		res := regtoken(newRunner(t), append([]string{"remove", "-n", ns}, names...)...)
		if res.Code != 0 {
			t.Fatalf("remove: %s", res)
		}
		for _, plane := range []int{shardA, shardB} {
			if left := leftovers(t, plane); len(left) > 0 {
				t.Errorf("left on %s after remove: %s", down.Clusters[plane].Name, strings.Join(left, ", "))
			}
		}
	})
}
