package bootstrap

import (
	"bytes"
	"fmt"
	"io"
	"slices"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	bootstrapapi "k8s.io/cluster-bootstrap/token/api"

	"github.com/kubectl-tokens/kubectl-tokens/pkg/printer"
	"github.com/kubectl-tokens/kubectl-tokens/pkg/ttl"
)

// Inspection is what inspect found (printed as text, or as this object
// with -o json|yaml). It never holds the token's secret.
type Inspection struct {
	metav1.TypeMeta `json:",inline"`
	ID              string   `json:"id"`
	Form            string   `json:"form"`
	Secret          string   `json:"secret"`
	Exists          bool     `json:"exists"`
	SecretMatches   *bool    `json:"secretMatches,omitempty"`
	Invalid         string   `json:"invalid,omitempty"`
	Description     string   `json:"description,omitempty"`
	Expires         string   `json:"expires,omitempty"`
	TTL             string   `json:"ttl,omitempty"`
	Usages          []string `json:"usages,omitempty"`
	Groups          []string `json:"groups,omitempty"`
	// Authenticates says whether the API server's bootstrap authenticator
	// would accept the token; Problems says why not.
	Authenticates *bool             `json:"authenticates,omitempty"`
	Problems      []string          `json:"problems,omitempty"`
	CAHash        *CAHashCheck      `json:"caHash,omitempty"`
	ClusterInfo   *ClusterInfoCheck `json:"clusterInfo,omitempty"`
	// Failures are the checks that failed; inspect exits 1 when any did.
	Failures []string `json:"failures,omitempty"`
}

// CAHashCheck compares a secure token's CA hash with the cluster's CAs.
type CAHashCheck struct {
	Token      string        `json:"token"`
	Matches    bool          `json:"matches"`
	MatchedBy  string        `json:"matchedBy,omitempty"`
	Candidates []CACandidate `json:"candidates"`
}

// CACandidate is one place the cluster CA was read from, and its K10 hash.
type CACandidate struct {
	From  string `json:"from"`
	Hash  string `json:"hash,omitempty"`
	Error string `json:"error,omitempty"`
}

// ClusterInfoCheck is the kube-public/cluster-info JWS signature check.
type ClusterInfoCheck struct {
	Found  bool   `json:"found"`
	Signed bool   `json:"signed"`
	Valid  *bool  `json:"valid,omitempty"`
	Note   string `json:"note,omitempty"`
	// caPEM is cluster-info's CA, another candidate for the CA hash.
	caPEM []byte
}

// DeepCopyObject makes Inspection printable; it is printed, never copied.
func (in *Inspection) DeepCopyObject() runtime.Object { c := *in; return &c }

// LocalAPIVersion is the apiVersion of the objects this plugin prints
// that no API server serves: inspect's TokenInspection and create's
// JoinMaterial.
const LocalAPIVersion = "bootstrap.kubectl-tokens.io/v1alpha1"

func (in *Inspection) fail(s string) { in.Failures = append(in.Failures, s) }

func hasHash(cs []CACandidate) bool {
	return slices.ContainsFunc(cs, func(c CACandidate) bool { return c.Hash != "" })
}

func candidateSummary(cs []CACandidate) string {
	var parts []string
	for _, c := range cs {
		if c.Hash != "" {
			parts = append(parts, c.From+" hashes to "+c.Hash)
		}
	}
	return strings.Join(parts, ", ")
}

// write prints the report for people; values, many of them the server's,
// are escaped to one inert line each (a description could otherwise hold
// a line break and forge a line of the report).
func (in *Inspection) write(w io.Writer) error {
	var buf bytes.Buffer
	line := func(k, v string) { printer.DescribeLine(&buf, k, v) }
	yesNo := func(b bool) string {
		if b {
			return "yes"
		}
		return "no"
	}
	form := map[string]string{"id": "ID only", "token": "token (id.secret)", "secure": "secure (K10)"}[in.Form]
	line("Token ID", in.ID+"  ["+form+"]")
	if in.Exists {
		line("Secret", in.Secret+" (exists)")
	} else {
		line("Secret", in.Secret+" (does not exist)")
	}
	if in.Invalid != "" {
		line("Invalid", in.Invalid)
	}
	if in.SecretMatches != nil {
		line("Secret matches", yesNo(*in.SecretMatches))
	}
	if in.Exists && in.Invalid == "" {
		desc := in.Description
		if desc == "" {
			desc = "<none>"
		}
		line("Description", desc)
		if in.TTL == kubeadmForeverTTL {
			line("Expires", ttl.Never)
		} else {
			line("Expires", in.Expires+" (TTL "+in.TTL+")")
		}
		line("Usages", orNone(in.Usages))
		line("Extra groups", orNone(in.Groups))
		if in.Authenticates != nil && *in.Authenticates {
			line("Authenticates", fmt.Sprintf("yes, as %s%s in %s", bootstrapapi.BootstrapUserPrefix, in.ID, strings.Join(append([]string{bootstrapapi.BootstrapDefaultGroup}, in.Groups...), ", ")))
		} else {
			line("Authenticates", "no: "+strings.Join(in.Problems, "; "))
		}
	}
	if in.CAHash != nil {
		switch {
		case in.CAHash.Token == "":
			line("CA hash", "none in the token (K10::...): a joining node cannot verify the cluster")
		case in.CAHash.Matches:
			line("CA hash", "matches "+in.CAHash.MatchedBy)
		case !hasHash(in.CAHash.Candidates):
			line("CA hash", "not checked: no cluster CA found")
		default:
			line("CA hash", "DOES NOT MATCH: token "+in.CAHash.Token+", "+candidateSummary(in.CAHash.Candidates))
		}
		for _, c := range in.CAHash.Candidates {
			if c.Error != "" {
				line("CA source", c.From+": "+c.Error)
			}
		}
	}
	if ci := in.ClusterInfo; ci != nil {
		switch {
		case ci.Valid != nil && *ci.Valid:
			line("cluster-info", "signature for "+in.ID+" is valid")
		case ci.Valid != nil:
			line("cluster-info", "signature for "+in.ID+" is INVALID")
		default:
			line("cluster-info", ci.Note)
		}
	}
	_, err := w.Write(buf.Bytes())
	return err
}
