package fleet

import (
	"reflect"
	"strings"
	"testing"
)

func TestParseDevicesReadsLinesAndYAML(t *testing.T) {
	for _, tc := range []struct {
		name, in string
		want     []Device
	}{
		{"one name per line, comments and blanks ignored", "# wave 1\nedge-a\n\n  edge-b  # the spare\n", []Device{{Name: "edge-a"}, {Name: "edge-b"}}},
		{"a YAML list with client IDs and labels", "---\n# wave 2\n- name: edge-a\n  clientID: a-1\n  labels:\n    site: north\n- name: edge-b\n",
			[]Device{{Name: "edge-a", ClientID: "a-1", Labels: map[string]string{"site": "north"}}, {Name: "edge-b"}}},
		{"a flow list", `[{name: edge-a, clientID: "007"}]`, []Device{{Name: "edge-a", ClientID: "007"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseDevices([]byte(tc.in), "d")
			if err != nil || !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got %+v, %v; want %+v", got, err, tc.want)
			}
		})
	}
}

// The inventory's own refusals (pkg/inventory, shared with
// --contexts-from) name contexts; the device checks come after them.
func TestParseDevicesRefusesWhatCannotBecomeAManifest(t *testing.T) {
	for _, tc := range []struct{ name, in, want string }{
		{"nothing", "# none yet\n", "--devices d names no device: list one name per line, or YAML entries with name, clientID and labels"},
		{"two words on a line", "edge-a site=north\n", `--devices d: line 1 "edge-a site=north" holds more than a context name: put one context per line, or write YAML entries with name, clientID and labels`},
		{"an entry without a name", "- clientID: x\n", "--devices d: entry 1 has no name: give every entry the kubeconfig context it stands for (name: CONTEXT)"},
		{"a hidden file", "- name: .edge\n", `--devices d: device name ".edge" cannot name a file: use letters, digits, '.', '_' and '-' (starting with a letter or digit)`},
		{"a client ID the chart cannot carry", "- {name: a, clientID: 'x\"y'}\n", `--devices d, device a: --client-id "x\"y" contains '"': the fleet-agent chart writes the client ID into the agent's JSON config without escaping, which breaks the agent; choose an ID without quotes, backslashes or control characters`},
		{"a label value Kubernetes refuses", "- {name: a, labels: {site: 'north pole'}}\n", `--devices d, device a: --label site value "north pole" is not a valid label value`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseDevices([]byte(tc.in), "d")
			// The label check's own reason (from apimachinery) follows the prefix.
			if err == nil || !strings.HasPrefix(err.Error(), tc.want) {
				t.Errorf("got %v\nwant %s", err, tc.want)
			}
		})
	}
}
