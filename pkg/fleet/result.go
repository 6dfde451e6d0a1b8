package fleet

import (
	"slices"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// ResultGVK names the one object create, values and helm print with
// -o json|yaml, so pipelines read it with the usual printers (jsonpath
// included). It is not an API type: nothing on the server has it.
var ResultGVK = schema.GroupVersionKind{Group: "regtoken.kubectl-tokens.io", Version: "v1", Kind: "Registration"}

// Result is what a pipeline needs to enroll a cluster. It never holds the
// token value: that stays in the values file.
type Result struct {
	metav1.TypeMeta `json:",inline"`
	Name            string `json:"name"`
	Namespace       string `json:"namespace"`
	// Expires is RFC3339, or empty for a token that never expires.
	Expires    string `json:"expires"`
	SecretName string `json:"secretName"`
	// ValuesFile is where values.yaml went ("-" = stdout, "" = not written).
	ValuesFile      string   `json:"valuesFile"`
	APIServerCAFile string   `json:"apiServerCAFile,omitempty"`
	HelmRepoAdd     []string `json:"helmRepoAdd"`
	Helm            []string `json:"helm"`
	Warnings        []string `json:"warnings"`
	// Notes say what the command filled in or converted.
	Notes []string `json:"notes"`

	// stdoutValues is values.yaml for --values-file -, printed once.
	stdoutValues []byte
	// install is what Helm was built from, for enroll to add a context.
	install HelmInstall
}

func NewResult(ns, name string) *Result {
	r := &Result{Name: name, Namespace: ns, Warnings: []string{}, Notes: []string{}, HelmRepoAdd: []string{}, Helm: []string{}}
	r.SetGroupVersionKind(ResultGVK)
	return r
}

// DeepCopyObject makes Result a runtime.Object for the printers.
func (r *Result) DeepCopyObject() runtime.Object {
	c := *r
	c.HelmRepoAdd = slices.Clone(r.HelmRepoAdd)
	c.Helm = slices.Clone(r.Helm)
	c.Warnings = slices.Clone(r.Warnings)
	c.Notes = slices.Clone(r.Notes)
	c.stdoutValues = slices.Clone(r.stdoutValues)
	return &c
}

// StdoutValues is values.yaml for --values-file -, to be printed once.
func (r *Result) StdoutValues() []byte { return r.stdoutValues }
