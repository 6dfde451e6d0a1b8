package cli_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/spf13/cobra"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/client-go/rest"

	"github.com/kubectl-tokens/kubectl-tokens/pkg/apierror"
	"github.com/kubectl-tokens/kubectl-tokens/pkg/cli"
	"github.com/kubectl-tokens/kubectl-tokens/pkg/cli/clitest"
)

// notServedRoot has a command that fails as a list of a CRD the server
// does not serve fails.
func notServedRoot(streams genericiooptions.IOStreams, f cli.Clients) *cobra.Command {
	root := cli.NewRoot(demo, streams, f)
	gr := schema.GroupResource{Group: "fleet.cattle.io", Resource: "clusterregistrationtokens"}
	root.AddCommand(&cobra.Command{Use: "list", RunE: func(*cobra.Command, []string) error {
		err := apierrors.NewGenericServerResponse(404, "get", gr, "", "", 0, true)
		err.ErrStatus.Message = "the server could not find the requested resource"
		return apierror.Wrap(err, apierror.Op{Verb: "list", Resource: gr, NotServed: "Fleet is not installed in this cluster"})
	}})
	return root
}

func TestNotServedFromAServerThatIsNotKubernetesSaysSo(t *testing.T) {
	web := httptest.NewServer(http.NotFoundHandler())
	defer web.Close()
	kube := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/version" {
			_, _ = w.Write([]byte(`{"major":"1","minor":"36","gitVersion":"v1.36.3"}`))
			return
		}
		http.NotFound(w, r)
	}))
	defer kube.Close()
	for _, tc := range []struct {
		host, want string
	}{
		{web.URL, "error: " + web.URL + " is not a Kubernetes API server (GET /version answered 404 Not Found): check --server/--context, or the kubeconfig's server URL (a path in it points at something else)\n"},
		{kube.URL, "error: Fleet is not installed in this cluster: no clusterregistrationtokens.fleet.cattle.io API\n"},
	} {
		f := clitest.NewFactory(clitest.Options{REST: &rest.Config{Host: tc.host}})
		res := clitest.Run(t, notServedRoot, f, "", "list")
		if res.Exit != 1 || res.Stderr != tc.want {
			t.Errorf("%s: %s\nwant %q", tc.host, res, tc.want)
		}
		if strings.Contains(tc.host, web.URL) && strings.Contains(res.Stderr, "install") {
			t.Errorf("told to install a product on a web server: %s", res.Stderr)
		}
	}
}
