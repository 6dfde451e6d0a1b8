// Package inventory is the list of clusters a "register these clusters"
// job runs on: the contexts given as arguments or read from a file
// (--contexts-from, one context per line or YAML with a name, labels and
// a client ID each), narrowed by --context-selector and --shard.
//
// It is part of kubectl-tokens' own plugins, not a library: its API may
// change in any release, so do not import it from another module.
package inventory

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"os"
	"regexp"
	"strconv"
	"strings"

	"github.com/spf13/pflag"
	"sigs.k8s.io/yaml"
)

// Entry is one cluster of the inventory: a kubeconfig context, and what
// the inventory says about it.
type Entry struct {
	// Context is the kubeconfig context that reaches the cluster.
	Context string `json:"name"`
	// ClientID is the Fleet Cluster's spec.clientID ("" = the default).
	ClientID string `json:"clientID,omitempty"`
	// Labels are added to the cluster's own (the command's --label
	// included; the inventory's win on the same key).
	Labels map[string]string `json:"labels,omitempty"`
}

// Options are the inventory flags, shared by every command that
// registers many clusters.
type Options struct {
	// From is --contexts-from: a file, or "-" for standard input.
	From string
	// Selector is --context-selector, a regular expression over context
	// names.
	Selector string
	// Shard is --shard I/N, or job/N in an Indexed Job.
	Shard string
	// Getenv reads JOB_COMPLETION_INDEX for --shard job/N (nil:
	// os.Getenv).
	Getenv func(string) string
}

// AddFlags binds the inventory flags.
func (o *Options) AddFlags(fs *pflag.FlagSet) {
	fs.StringVar(&o.From, "contexts-from", "", "Read the contexts from this file ('-' for standard input): one context per line (# starts a comment), or YAML, a list of {name, clientID, labels}.")
	fs.StringVar(&o.Selector, "context-selector", "", "Keep only the contexts whose name matches this regular expression (RE2, anchored: 'edge-.*').")
	fs.StringVar(&o.Shard, "shard", "", "Take only shard I of N (I/N, 1 <= I <= N) of the contexts, for a CI matrix; in a Kubernetes Indexed Job pass job/N (shard $JOB_COMPLETION_INDEX+1). A context's shard depends on its name alone, so every run puts it in the same shard.")
}

// Args are the inventory flags as given, for a re-run hint.
func (o *Options) Args() []string {
	var out []string
	for _, f := range []struct{ name, v string }{{"--contexts-from", o.From}, {"--context-selector", o.Selector}, {"--shard", o.Shard}} {
		if f.v != "" {
			out = append(out, f.name, f.v)
		}
	}
	return out
}

// Rerun are the arguments that run the same job again: the inventory
// flags (what is done is left alone, so it resumes) and maxFailures
// (--max-failures as given), else the contexts left to do.
func (o *Options) Rerun(left []string, maxFailures string) []string {
	if !o.Given() {
		return left
	}
	args := o.Args()
	if maxFailures != "" {
		args = append(args, "--max-failures", maxFailures)
	}
	return args
}

// Given tells whether any inventory flag narrows or replaces the
// arguments.
func (o *Options) Given() bool { return o.From != "" || o.Selector != "" || o.Shard != "" }

// Resolve is the inventory the command runs on: the arguments, or the
// file (never both), then the selector, then the shard. stdin serves
// --contexts-from -. Every check is local; an empty result is an error
// only when nothing was given at all (an empty shard is a valid,
// finished job).
func (o *Options) Resolve(args []string, stdin io.Reader) ([]Entry, error) {
	sel, err := o.selector()
	if err != nil {
		return nil, err
	}
	spec := o.Shard
	if rest, ok := strings.CutPrefix(spec, "job/"); ok {
		getenv := o.Getenv
		if getenv == nil {
			getenv = os.Getenv
		}
		i, err := strconv.Atoi(getenv(JobIndexEnv))
		if err != nil || i < 0 {
			return nil, fmt.Errorf("--shard %s reads the Indexed Job's %s, which is %q: run it in an Indexed Job (completionMode: Indexed), or pass --shard I/N", spec, JobIndexEnv, getenv(JobIndexEnv))
		}
		spec = strconv.Itoa(i+1) + "/" + rest
	}
	shard, err := ParseShard(spec)
	if err != nil {
		return nil, err
	}
	var entries []Entry
	switch {
	case o.From != "" && len(args) > 0:
		return nil, fmt.Errorf("contexts given both as arguments (%s) and with --contexts-from %s: pass one of them", strings.Join(args, ", "), o.From)
	case o.From != "":
		if entries, err = o.read(stdin); err != nil {
			return nil, err
		}
	default:
		for _, a := range args {
			entries = append(entries, Entry{Context: a})
		}
	}
	if err := checkUnique(entries, o.From); err != nil {
		return nil, err
	}
	if len(entries) == 0 {
		return nil, errors.New("no context to work on: pass contexts as arguments or with --contexts-from FILE")
	}
	var out []Entry
	for _, e := range entries {
		if (sel == nil || sel.MatchString(e.Context)) && shard.Has(e.Context) {
			out = append(out, e)
		}
	}
	return out, nil
}

func (o *Options) selector() (*regexp.Regexp, error) {
	if o.Selector == "" {
		return nil, nil
	}
	// The user's expression is checked alone, so an error quotes it as
	// written, then anchored: a selector names whole contexts.
	if _, err := regexp.Compile(o.Selector); err != nil {
		return nil, fmt.Errorf("--context-selector %q is not a regular expression (%s): pass e.g. 'edge-.*'", o.Selector, strings.TrimPrefix(err.Error(), "error parsing regexp: "))
	}
	return regexp.MustCompile("^(?:" + o.Selector + ")$"), nil
}

func (o *Options) read(stdin io.Reader) ([]Entry, error) {
	var data []byte
	var err error
	if o.From == "-" {
		if stdin == nil {
			return nil, errors.New("--contexts-from - reads standard input, but there is none: pass a file")
		}
		data, err = io.ReadAll(stdin)
	} else {
		data, err = os.ReadFile(o.From)
	}
	if err != nil {
		return nil, fmt.Errorf("--contexts-from %s cannot be read (%w): pass a readable file, or - for standard input", o.From, unwrapPath(err))
	}
	entries, err := Parse(data)
	if err != nil {
		return nil, fmt.Errorf("--contexts-from %s: %w", o.From, err)
	}
	return entries, nil
}

// unwrapPath keeps the cause of a path error: the flag already names the
// file.
func unwrapPath(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// Parse reads an inventory: YAML (a list of entries, or of plain context
// names) when the first meaningful line starts a YAML list of mappings or
// the document is a mapping with "contexts"; else one context per line,
// with # comments and blank lines ignored.
func Parse(data []byte) ([]Entry, error) {
	if isYAML(data) {
		return parseYAML(data)
	}
	var out []Entry
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if i := strings.Index(line, "#"); i >= 0 {
			line = strings.TrimSpace(line[:i])
		}
		if line == "" {
			continue
		}
		if strings.ContainsAny(line, " \t") {
			return nil, fmt.Errorf("line %d %q holds more than a context name: put one context per line, or write YAML entries with name, clientID and labels", n, line)
		}
		out = append(out, Entry{Context: line})
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	return out, nil
}

func isYAML(data []byte) bool {
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") || line == "---" {
			continue
		}
		return strings.HasPrefix(line, "- ") || line == "-" || strings.HasPrefix(line, "contexts:") || strings.HasPrefix(line, "[")
	}
	return false
}

// document is the YAML inventory: a list, or {contexts: list}.
type document struct {
	Contexts []yamlEntry `json:"contexts"`
}

type yamlEntry struct {
	Entry
	plain bool
}

func (y *yamlEntry) UnmarshalJSON(b []byte) error {
	var name string
	if err := yaml.Unmarshal(b, &name); err == nil {
		y.Context, y.plain = name, true
		return nil
	}
	type strict struct {
		Name     string            `json:"name"`
		ClientID string            `json:"clientID"`
		Labels   map[string]string `json:"labels"`
	}
	var s strict
	if err := yaml.UnmarshalStrict(b, &s); err != nil {
		return err
	}
	y.Entry = Entry{Context: s.Name, ClientID: s.ClientID, Labels: s.Labels}
	return nil
}

func parseYAML(data []byte) ([]Entry, error) {
	var list []yamlEntry
	if err := yaml.Unmarshal(data, &list); err != nil {
		var doc document
		if derr := yaml.UnmarshalStrict(data, &doc); derr != nil {
			return nil, fmt.Errorf("not an inventory (%s): write a YAML list of {name, clientID, labels} or one context per line", oneLine(err))
		}
		list = doc.Contexts
	}
	out := make([]Entry, 0, len(list))
	for i, y := range list {
		if y.Context == "" {
			return nil, fmt.Errorf("entry %d has no name: give every entry the kubeconfig context it stands for (name: CONTEXT)", i+1)
		}
		out = append(out, y.Entry)
	}
	return out, nil
}

func oneLine(err error) string {
	s := err.Error()
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[:i]
	}
	// Nested decoders repeat their prefixes.
	if i := strings.LastIndex(s, "json: "); i >= 0 {
		s = s[i+len("json: "):]
	}
	return s
}

func checkUnique(entries []Entry, from string) error {
	seen := map[string]bool{}
	for _, e := range entries {
		if seen[e.Context] {
			where := "the arguments"
			if from != "" {
				where = "--contexts-from " + from
			}
			return fmt.Errorf("context %q is named twice in %s: name each context once", e.Context, where)
		}
		seen[e.Context] = true
	}
	return nil
}

// JobIndexEnv is the 0-based index Kubernetes gives each pod of an
// Indexed Job.
const JobIndexEnv = "JOB_COMPLETION_INDEX"

// Shard is a stable slice of an inventory: shard Index of Count.
type Shard struct {
	Index, Count int
}

// ParseShard reads --shard I/N; "" is the whole inventory.
func ParseShard(s string) (Shard, error) {
	if s == "" {
		return Shard{Index: 1, Count: 1}, nil
	}
	i, n, ok := strings.Cut(s, "/")
	index, err1 := strconv.Atoi(i)
	count, err2 := strconv.Atoi(n)
	if !ok || err1 != nil || err2 != nil {
		return Shard{}, fmt.Errorf("--shard %q is not I/N: pass e.g. --shard 1/4 (in an Indexed Job: --shard job/N)", s)
	}
	if count < 1 || index < 1 || index > count {
		return Shard{}, fmt.Errorf("--shard %q is out of range: I counts from 1 to N, e.g. --shard 1/%d … --shard %d/%d", s, max(count, 1), max(count, 1), max(count, 1))
	}
	return Shard{Index: index, Count: count}, nil
}

// Has tells whether the context belongs to this shard. It depends on the
// context's name alone (FNV-1a), so a context stays in its shard when the
// inventory grows or is reordered, and a re-run with the same --shard
// finds the same clusters.
func (s Shard) Has(context string) bool {
	if s.Count <= 1 {
		return true
	}
	h := fnv.New64a()
	_, _ = h.Write([]byte(context))
	return int(h.Sum64()%uint64(s.Count)) == s.Index-1
}
