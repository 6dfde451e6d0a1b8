package inventory

import (
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func names(es []Entry) []string {
	out := []string{}
	for _, e := range es {
		out = append(out, e.Context)
	}
	return out
}

func TestParseReadsLinesAndYAMLInventories(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   string
		want []Entry
		err  string
	}{
		{"one context per line, comments and blanks ignored", "# edge sites\nedge-1\n\n  edge-2  # store 2\n", []Entry{{Context: "edge-1"}, {Context: "edge-2"}}, ""},
		{"a YAML list of entries", "- name: edge-1\n  clientID: store-1\n  labels: {env: prod}\n- name: edge-2\n", []Entry{{Context: "edge-1", ClientID: "store-1", Labels: map[string]string{"env": "prod"}}, {Context: "edge-2"}}, ""},
		{"a YAML list of names", "- edge-1\n- edge-2\n", []Entry{{Context: "edge-1"}, {Context: "edge-2"}}, ""},
		{"a mapping with contexts", "contexts:\n- name: edge-1\n", []Entry{{Context: "edge-1"}}, ""},
		{"JSON", `[{"name":"edge-1","labels":{"a":"b"}}]`, []Entry{{Context: "edge-1", Labels: map[string]string{"a": "b"}}}, ""},
		{"a line with two words", "edge-1 prod\n", nil, `line 1 "edge-1 prod" holds more than a context name: put one context per line, or write YAML entries with name, clientID and labels`},
		{"an entry without a name", "- clientID: x\n", nil, "entry 1 has no name: give every entry the kubeconfig context it stands for (name: CONTEXT)"},
		{"an unknown field", "- name: a\n  lables: {a: b}\n", nil, `not an inventory (unknown field "lables"): write a YAML list of {name, clientID, labels} or one context per line`},
		{"empty", "", nil, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Parse([]byte(tc.in))
			if tc.err != "" {
				if err == nil || err.Error() != tc.err {
					t.Fatalf("err = %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(got) == 0 && len(tc.want) == 0 {
				return
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("got %+v, want %+v", got, tc.want)
			}
		})
	}
}

func TestResolveTakesArgumentsOrAFileThenSelectorThenShard(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "inv")
	if err := os.WriteFile(file, []byte("edge-1\nedge-2\ncore-1\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name  string
		o     Options
		args  []string
		stdin string
		want  []string
		err   string
	}{
		{"arguments", Options{}, []string{"a", "b"}, "", []string{"a", "b"}, ""},
		{"a file", Options{From: file}, nil, "", []string{"edge-1", "edge-2", "core-1"}, ""},
		{"standard input", Options{From: "-"}, nil, "x\ny\n", []string{"x", "y"}, ""},
		{"a selector is anchored", Options{From: file, Selector: "edge-.*"}, nil, "", []string{"edge-1", "edge-2"}, ""},
		{"a selector matching nothing leaves nothing", Options{Selector: "zzz"}, []string{"a"}, "", nil, ""},
		{"both arguments and a file", Options{From: file}, []string{"a"}, "", nil, "contexts given both as arguments (a) and with --contexts-from " + file + ": pass one of them"},
		{"a missing file", Options{From: filepath.Join(dir, "nope")}, nil, "", nil, "--contexts-from " + filepath.Join(dir, "nope") + " cannot be read (no such file or directory): pass a readable file, or - for standard input"},
		{"a context twice", Options{}, []string{"a", "a"}, "", nil, `context "a" is named twice in the arguments: name each context once`},
		{"nothing at all", Options{From: "-"}, nil, "", nil, "no context to work on: pass contexts as arguments or with --contexts-from FILE"},
		{"a bad selector", Options{Selector: "("}, []string{"a"}, "", nil, `--context-selector "(" is not a regular expression (missing closing ): ` + "`(`" + `): pass e.g. 'edge-.*'`},
		{"a bad shard", Options{Shard: "3/2"}, []string{"a"}, "", nil, `--shard "3/2" is out of range: I counts from 1 to N, e.g. --shard 1/2 … --shard 2/2`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := tc.o.Resolve(tc.args, strings.NewReader(tc.stdin))
			if tc.err != "" {
				if err == nil || err.Error() != tc.err {
					t.Fatalf("err = %v\nwant  %s", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if g := names(got); len(g) != len(tc.want) || (len(g) > 0 && !reflect.DeepEqual(g, tc.want)) {
				t.Fatalf("got %v, want %v", g, tc.want)
			}
		})
	}
}

// In an Indexed Job, job/N is shard JOB_COMPLETION_INDEX+1 of N: the
// image has no shell to add one.
func TestShardJobReadsTheIndexedJobsIndex(t *testing.T) {
	all := []string{"a", "b", "c", "d", "e", "f", "g", "h"}
	for i := range 3 {
		env := func(string) string { return fmt.Sprint(i) }
		byJob, err := (&Options{Shard: "job/3", Getenv: env}).Resolve(all, nil)
		if err != nil {
			t.Fatal(err)
		}
		byHand, err := (&Options{Shard: fmt.Sprintf("%d/3", i+1)}).Resolve(all, nil)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(byJob, byHand) {
			t.Fatalf("index %d: job/3 took %v, %d/3 took %v", i, names(byJob), i+1, names(byHand))
		}
	}
	_, err := (&Options{Shard: "job/3", Getenv: func(string) string { return "" }}).Resolve(all, nil)
	if want := `--shard job/3 reads the Indexed Job's JOB_COMPLETION_INDEX, which is "": run it in an Indexed Job (completionMode: Indexed), or pass --shard I/N`; err == nil || err.Error() != want {
		t.Fatalf("err = %v", err)
	}
}

func TestParseShardRefusesWhatIsNotIOfN(t *testing.T) {
	for in, want := range map[string]string{
		"1":   `--shard "1" is not I/N: pass e.g. --shard 1/4 (in an Indexed Job: --shard job/N)`,
		"a/b": `--shard "a/b" is not I/N: pass e.g. --shard 1/4 (in an Indexed Job: --shard job/N)`,
		"0/2": `--shard "0/2" is out of range: I counts from 1 to N, e.g. --shard 1/2 … --shard 2/2`,
		"1/0": `--shard "1/0" is out of range: I counts from 1 to N, e.g. --shard 1/1 … --shard 1/1`,
	} {
		if _, err := ParseShard(in); err == nil || err.Error() != want {
			t.Errorf("ParseShard(%q) = %v, want %q", in, err, want)
		}
	}
}

// The shards of N together are the inventory, each context in exactly
// one, and a context's shard does not move when others are added.
func TestShardsPartitionTheInventoryStably(t *testing.T) {
	var all []string
	for i := range 1000 {
		all = append(all, fmt.Sprintf("edge-%04d", i))
	}
	for _, n := range []int{1, 2, 3, 7} {
		seen := map[string]int{}
		sizes := make([]int, n)
		for i := 1; i <= n; i++ {
			s := Shard{Index: i, Count: n}
			for _, c := range all {
				if s.Has(c) {
					seen[c]++
					sizes[i-1]++
				}
			}
		}
		for _, c := range all {
			if seen[c] != 1 {
				t.Fatalf("N=%d: %s is in %d shards", n, c, seen[c])
			}
		}
		for i, size := range sizes {
			// Hashing balances within a few percent at this size.
			if want := len(all) / n; size < want*8/10 || size > want*12/10 {
				t.Errorf("N=%d: shard %d has %d of %d", n, i+1, size, len(all))
			}
		}
	}
	o := Options{Shard: "2/3"}
	small, err := o.Resolve(all[:10], nil)
	if err != nil {
		t.Fatal(err)
	}
	big, err := o.Resolve(all, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range names(small) {
		if !contains(names(big), c) {
			t.Fatalf("%s left shard 2/3 when the inventory grew", c)
		}
	}
}

func contains(s []string, v string) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}
