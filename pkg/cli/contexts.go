package cli

import (
	"fmt"
	"slices"
	"sort"

	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

// Contexts is the part of Clients for a command that works on several
// clusters of one kubeconfig (kubectl regtoken enroll: the current context
// is the management cluster, the arguments name downstream ones).
type Contexts interface {
	// KubeconfigContexts are the kubeconfig's context names, sorted, and
	// the one the flags select (--context, else current-context).
	KubeconfigContexts() (names []string, current string, err error)
	// ForContext are clients for context name of the same kubeconfig
	// (--kubeconfig honoured). The other connection flags (--server,
	// --user, -n, ...) belong to the selected context and are not carried
	// over.
	ForContext(name string) (Clients, error)
}

var _ Contexts = (*Factory)(nil)

// KubeconfigContexts lists the merged kubeconfig's contexts.
func (f *Factory) KubeconfigContexts() ([]string, string, error) {
	raw, err := f.RawConfig()
	if err != nil {
		return nil, "", err
	}
	names := make([]string, 0, len(raw.Contexts))
	for n := range raw.Contexts {
		names = append(names, n)
	}
	sort.Strings(names)
	current := raw.CurrentContext
	if c := f.ConfigFlags.Context; c != nil && *c != "" {
		current = *c
	}
	return names, current, nil
}

// ForContext is a Factory on context name; an unknown name is refused
// with the kubeconfig it was looked up in.
func (f *Factory) ForContext(name string) (Clients, error) {
	raw, err := f.RawConfig()
	if err != nil {
		return nil, err
	}
	c, ok := raw.Contexts[name]
	if !ok {
		return nil, NoSuchContext(name, f.kubeconfigDescription(), f.ConfigFlags.KubeConfig)
	}
	cf := NewConfigFlags()
	if k := f.ConfigFlags.KubeConfig; k != nil {
		v := *k
		cf.KubeConfig = &v
	}
	cf.Context = &name
	// The context's own entries of the kubeconfig already read: a
	// factory per context must not parse the whole file again (with a
	// thousand contexts that was most of a run's CPU and memory).
	base := clientcmdapi.NewConfig()
	base.Contexts[name] = c
	if cl, ok := raw.Clusters[c.Cluster]; ok {
		base.Clusters[c.Cluster] = cl
	}
	if u, ok := raw.AuthInfos[c.AuthInfo]; ok {
		base.AuthInfos[c.AuthInfo] = u
	}
	base.CurrentContext = name
	return &Factory{ConfigFlags: cf, binary: f.binary, base: base}, nil
}

// Management names the cluster of the current context for a command that
// registers other contexts' clusters with it: what it is ("the Fleet
// management cluster") and whose context --context should name ("the
// management cluster's").
type Management struct{ What, Whose string }

// CheckDownstream refuses, before any request, downstream contexts that
// cannot be meant: one given twice, one not in the kubeconfig (f's one
// error for that, NoSuchContext, naming the kubeconfig files and keeping
// --kubeconfig in its hint), or the current context itself (the
// management side). names and current are f.KubeconfigContexts' answer.
func CheckDownstream(f Contexts, contexts, names []string, current string, m Management) error {
	seen := map[string]bool{}
	for _, name := range contexts {
		switch {
		case seen[name]:
			return fmt.Errorf("context %q is given twice: name each downstream context once", name)
		case !slices.Contains(names, name):
			_, err := f.ForContext(name)
			if err == nil { // f disagrees with its own list
				err = fmt.Errorf("context %q is not in the kubeconfig", name)
			}
			return fmt.Errorf("%w; nothing was created", err)
		case name == current:
			return fmt.Errorf("context %q is %s (the current context): name downstream contexts, or pass --context with %s; nothing was created", name, m.What, m.Whose)
		}
		seen[name] = true
	}
	return nil
}
