package regtoken

import (
	"context"
	"fmt"
	"time"

	"github.com/kubectl-tokens/kubectl-tokens/pkg/fleet"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/duration"
	"k8s.io/client-go/dynamic"

	"github.com/kubectl-tokens/kubectl-tokens/pkg/apierror"

	"github.com/kubectl-tokens/kubectl-tokens/pkg/printer"
)

// tokenColumns are the list/get table. The CRD's own printer columns
// (NAME, SECRET-NAME) say nothing about expiry, so the table is built here.
// -o wide adds the Secret's name and the expiry as RFC3339 (EXPIRES-AT,
// since EXPIRES is the relative form); -A adds NAMESPACE in front.
var tokenColumns = []printer.Column{
	{Name: "NAME"},
	{Name: "TTL"},
	{Name: "EXPIRES"},
	{Name: "SECRET"},
	{Name: "AGE"},
	{Name: "SECRET-NAME", Wide: true},
	{Name: "EXPIRES-AT", Wide: true},
}

// secretColumn is SECRET's index in tokenColumns, which list corrects by
// the Secrets that exist.
const secretColumn = 3

func tokenTable(items []unstructured.Unstructured, now time.Time) (*metav1.Table, error) {
	rows := make([][]any, 0, len(items))
	objects := make([]runtime.Object, 0, len(items))
	for i := range items {
		tok, err := fleet.ToToken(&items[i])
		if err != nil {
			return nil, err
		}
		rows = append(rows, tokenRow(tok, now))
		objects = append(objects, &items[i])
	}
	return printer.NewTable(tokenColumns, rows, objects), nil
}

// tokenListTable is tokenTable for the tokens list decoded itself
// (listdecode.go). Each row carries only the metadata the table printer
// reads: the namespace, for -A.
func tokenListTable(toks []fleet.Token, now time.Time) *metav1.Table {
	rows := make([][]any, 0, len(toks))
	objects := make([]runtime.Object, 0, len(toks))
	for i := range toks {
		rows = append(rows, tokenRow(&toks[i], now))
		objects = append(objects, &metav1.PartialObjectMetadata{ObjectMeta: metav1.ObjectMeta{Name: toks[i].Name, Namespace: toks[i].Namespace}})
	}
	return printer.NewTable(tokenColumns, rows, objects)
}

func tokenRow(t *fleet.Token, now time.Time) []any {
	secret, secretName := "pending", "<none>"
	if t.Status.SecretName != "" {
		secret, secretName = "ready", t.Status.SecretName
	}
	expiresAt := "<none>"
	if at, ok := t.ExpiresAt(); ok {
		expiresAt = at.UTC().Format(time.RFC3339)
	}
	return []any{t.Name, printer.Cell(ttlText(t)), relativeExpiry(t, now), secret, duration.HumanDuration(now.Sub(t.CreationTimestamp.Time)), secretName, expiresAt}
}

// ttlText is spec.ttl as stored, or <none>.
func ttlText(t *fleet.Token) string {
	if t.Spec.TTL == nil {
		return "<none>"
	}
	return *t.Spec.TTL
}

// relativeExpiry is "never", "expired" or "in 23h".
func relativeExpiry(t *fleet.Token, now time.Time) string {
	at, ok := t.ExpiresAt()
	switch {
	case !ok:
		return "never"
	case !now.Before(at):
		return "expired"
	default:
		return "in " + duration.HumanDuration(at.Sub(now))
	}
}

// describeExpiry is the expiry for a sentence.
func describeExpiry(t *fleet.Token) string { return fleet.ExpiryWords(t) }

// registrationsUnknown is the note on stderr when the registrations made
// with token name cannot be listed.
func registrationsUnknown(name string, err error) string {
	return fmt.Sprintf("note: the registrations made with %s are unknown: %s", name, apierror.OneLine(err.Error()))
}

// registrationColumns are the table of the registrations made with a
// token, in get and describe.
var registrationColumns = []printer.Column{{Name: "REQUEST"}, {Name: "CLIENT-ID"}, {Name: "CLUSTER"}, {Name: "GRANTED"}, {Name: "AGE"}}

// registrationsTable is the table of the registrations made with token
// ns/name, oldest first. Without a table, note is the line for stderr
// that says why: known false when they could not be listed (get and
// describe go on without them), else there is none with the label.
func registrationsTable(ctx context.Context, dyn dynamic.Interface, ns, name string, now time.Time) (table *metav1.Table, note string, known bool) {
	regs, err := fleet.ListRegistrations(ctx, dyn, ns, name)
	if err != nil {
		return nil, registrationsUnknown(name, err), false
	}
	if len(regs) == 0 {
		return nil, fmt.Sprintf("No ClusterRegistration carries the label %s=%s: no fleet-agent v0.16 or newer has registered with it (older agents leave no label).", fleet.RegistrationLabel, name), true
	}
	rows := make([][]any, 0, len(regs))
	for _, r := range regs {
		cluster := r.Status.ClusterName
		if cluster == "" {
			cluster = "<none>"
		}
		// The client ID is the agent's free text (fleet-agent's --client-id).
		rows = append(rows, []any{r.Name, printer.Cell(r.Spec.ClientID), cluster, fmt.Sprint(r.Status.Granted), duration.HumanDuration(now.Sub(r.CreationTimestamp.Time))})
	}
	return printer.NewTable(registrationColumns, rows, nil), "", true
}
