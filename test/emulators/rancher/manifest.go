package rancher

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
)

// checksum is CATTLE_CA_CHECKSUM: the SHA-256 of the cacerts setting.
func checksum(caPEM []byte) string {
	if len(caPEM) == 0 {
		return ""
	}
	sum := sha256.Sum256(caPEM)
	return hex.EncodeToString(sum[:])
}

// manifest is what /v3/import renders for token (§13): namespace
// cattle-system, the agent's ServiceAccount and bindings, the credentials
// Secret (server URL and token), the cattle-cluster-agent Deployment and
// its Service. The registry variable is the release's.
func (im *Importer) manifest(token string) []byte {
	sum := sha256.Sum256([]byte(token + im.URL))
	secret := "cattle-credentials-" + hex.EncodeToString(sum[:])[:7]
	return fmt.Appendf(nil, `---
apiVersion: v1
kind: Namespace
metadata:
  name: cattle-system
---
apiVersion: v1
kind: ServiceAccount
metadata:
  name: cattle
  namespace: cattle-system
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata:
  name: cattle-admin-binding
  labels:
    cattle.io/creator: "norman"
roleRef:
  apiGroup: rbac.authorization.k8s.io
  kind: ClusterRole
  name: cattle-admin
subjects:
- kind: ServiceAccount
  name: cattle
  namespace: cattle-system
---
apiVersion: v1
kind: Secret
metadata:
  name: %[1]s
  namespace: cattle-system
type: Opaque
stringData:
  url: %[2]q
  token: %[3]q
  namespace: ""
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata:
  name: cattle-admin
  labels:
    cattle.io/creator: "norman"
rules:
- apiGroups: ["*"]
  resources: ["*"]
  verbs: ["*"]
- nonResourceURLs: ["*"]
  verbs: ["*"]
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: cattle-cluster-agent
  namespace: cattle-system
spec:
  selector:
    matchLabels:
      app: cattle-cluster-agent
  template:
    metadata:
      labels:
        app: cattle-cluster-agent
    spec:
      serviceAccountName: cattle
      containers:
      - name: cluster-register
        imagePullPolicy: IfNotPresent
        image: rancher/rancher-agent:v%[4]s
        env:
        - name: CATTLE_IS_RKE
          value: "false"
        - name: CATTLE_SERVER
          value: %[2]q
        - name: CATTLE_CA_CHECKSUM
          value: %[5]q
        - name: CATTLE_CLUSTER
          value: "true"
        - name: CATTLE_K8S_MANAGED
          value: "true"
        - name: %[6]s
          value: ""
        volumeMounts:
        - name: cattle-credentials
          mountPath: /cattle-credentials
          readOnly: true
      volumes:
      - name: cattle-credentials
        secret:
          secretName: %[1]s
          defaultMode: 320
---
apiVersion: v1
kind: Service
metadata:
  name: cattle-cluster-agent
  namespace: cattle-system
spec:
  ports:
  - port: 80
    targetPort: 80
    protocol: TCP
    name: http
  - port: 443
    targetPort: 444
    protocol: TCP
    name: https-internal
  selector:
    app: cattle-cluster-agent
`, secret, im.URL, token, im.opts.Release, checksum(im.CAPEM), im.opts.Release.registryEnv())
}
