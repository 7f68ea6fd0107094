{{/* omnirelay.name is the chart's name, or nameOverride. */}}
{{- define "omnirelay.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 40 | trimSuffix "-" -}}
{{- end -}}

{{/*
omnirelay.fullname names every object and is the prefix of the pod names, which are the member
ids: at most 40 characters, so that "<fullname>-peer" and each pod's DNS label stay under 63.
*/}}
{{- define "omnirelay.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 40 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 40 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 40 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/* omnirelay.peerService is the headless Service that gives each member a stable DNS name. */}}
{{- define "omnirelay.peerService" -}}
{{- printf "%s-peer" (include "omnirelay.fullname" .) -}}
{{- end -}}

{{/* omnirelay.selectorLabels select this release's pods; they never change on upgrade. */}}
{{- define "omnirelay.selectorLabels" -}}
app.kubernetes.io/name: {{ include "omnirelay.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{/* omnirelay.labels are the labels of every object. */}}
{{- define "omnirelay.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{ include "omnirelay.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: omnirelay
{{- end -}}

{{/* omnirelay.memberHost is the DNS name of member ordinal .ordinal (dict with root and ordinal). */}}
{{- define "omnirelay.memberHost" -}}
{{- $root := .root -}}
{{- printf "%s-%d.%s.%s.svc.%s" (include "omnirelay.fullname" $root) (int .ordinal) (include "omnirelay.peerService" $root) $root.Release.Namespace $root.Values.clusterDomain -}}
{{- end -}}

{{/*
omnirelay.memberList is "id=host:port,..." over every member (this pod included: the entrypoint
drops its own entry, because --peers lists only the others) for the port named .port.
*/}}
{{- define "omnirelay.memberList" -}}
{{- $root := .root -}}
{{- $port := .port -}}
{{- $members := list -}}
{{- range $i := until (int $root.Values.replicas) -}}
{{- $id := printf "%s-%d" (include "omnirelay.fullname" $root) $i -}}
{{- $members = append $members (printf "%s=%s:%d" $id (include "omnirelay.memberHost" (dict "root" $root "ordinal" $i)) (int $port)) -}}
{{- end -}}
{{- join "," $members -}}
{{- end -}}

{{/*
omnirelay.entrypoint is the container's shell entrypoint: it turns the member lists into
--peers, --peer-clients and --peer-grpc without this pod's own entry, then execs the node (the
container's args). It uses backticks, never "$(", because Kubernetes expands $(VAR) in commands.
*/}}
{{- define "omnirelay.entrypoint" -}}
set -eu
others() {
  out=''
  saved_ifs=$IFS
  IFS=,
  for member in $1; do
    case "$member" in
      "$OMNIRELAY_ID="*) ;;
      *) out="${out:+$out,}$member" ;;
    esac
  done
  IFS=$saved_ifs
  printf '%s' "$out"
}
OMNIRELAY_PEERS=`others "$OMNIRELAY_CHART_MEMBERS_PEER"`
OMNIRELAY_PEER_CLIENTS=`others "$OMNIRELAY_CHART_MEMBERS_HTTP"`
OMNIRELAY_PEER_GRPC=`others "$OMNIRELAY_CHART_MEMBERS_GRPC"`
export OMNIRELAY_PEERS OMNIRELAY_PEER_CLIENTS OMNIRELAY_PEER_GRPC
exec "$@"
{{- end -}}

{{/*
omnirelay.initialState is the --initial-cluster-state a pod starts with: cluster.initialState, where
`auto` is `new` on `helm install` and `existing` on `helm upgrade`, so that a pod a scale-up adds
waits to be added instead of bootstrapping a cluster of its own.
*/}}
{{- define "omnirelay.initialState" -}}
{{- if eq .Values.cluster.initialState "auto" -}}
{{- ternary "existing" "new" .Release.IsUpgrade -}}
{{- else -}}
{{- .Values.cluster.initialState -}}
{{- end -}}
{{- end -}}

{{/* omnirelay.validate fails the render with what to set when the values contradict each other. */}}
{{- define "omnirelay.validate" -}}
{{- if and .Values.tls.certManager.csiDriver (not (and .Values.tls.enabled .Values.tls.certManager.enabled)) -}}
{{- fail "tls.certManager.csiDriver needs tls.enabled and tls.certManager.enabled (with tls.certManager.issuerRef.name): cert-manager's csi-driver asks that issuer for each pod's certificate" -}}
{{- end -}}
{{- if and .Values.tls.enabled .Values.tls.certManager.enabled .Values.tls.existingSecret -}}
{{- fail "tls.existingSecret and tls.certManager.enabled exclude each other: the pods would read cert-manager's certificates and ignore the Secret; set only one of them" -}}
{{- end -}}
{{- if or .Values.scaling.removeMembersHook.enabled .Values.scaling.addMembersHook.enabled -}}
{{- if not .Values.scaling.tokenSecret.name -}}
{{- fail "scaling.removeMembersHook and scaling.addMembersHook need scaling.tokenSecret.name: a Secret holding a token with mesh.admin (`omnirelay token create --role mesh.admin`)" -}}
{{- end -}}
{{- if and .Values.tls.enabled .Values.tls.clientCertAuth -}}
{{- fail "the scaling hooks present a token, no client certificate, and tls.clientCertAuth refuses every client without one: turn the hooks off and scale by hand (chart README), or use tokens (auth.existingSecret) without tls.clientCertAuth" -}}
{{- end -}}
{{- end -}}
{{- if .Values.tls.enabled -}}
{{- if and (not .Values.tls.existingSecret) (not .Values.tls.certManager.enabled) -}}
{{- fail "tls.enabled needs certificates: set tls.existingSecret (a Secret with ca.crt, <pod>.crt and <pod>.key for every pod) or tls.certManager.enabled with tls.certManager.issuerRef.name (and tls.certManager.csiDriver for a key per pod)" -}}
{{- end -}}
{{- if and .Values.tls.certManager.enabled (not .Values.tls.certManager.issuerRef.name) -}}
{{- fail "tls.certManager.enabled needs tls.certManager.issuerRef.name (an Issuer or ClusterIssuer)" -}}
{{- end -}}
{{- if and (not .Values.tls.clientCertAuth) (not .Values.auth.existingSecret) -}}
{{- fail "client access control is required beyond loopback: set auth.existingSecret (a tokens file, `omnirelay token create`) or tls.clientCertAuth true" -}}
{{- end -}}
{{- else if not .Values.insecure -}}
{{- fail "tls.enabled false serves plaintext, which the server refuses beyond loopback: set insecure true as well to run a throwaway test cluster without TLS" -}}
{{- end -}}
{{- end -}}


{{/*
omnirelay.tlsFile is the path of the pod's own TLS file .file ("crt" or "key") under the tls mount:
cert-manager's csi-driver writes only this pod's tls.crt and tls.key; a Secret, or cert-manager's
Secrets projected together, hold <pod>.crt and <pod>.key for every member.
*/}}
{{- define "omnirelay.tlsFile" -}}
{{- if .root.Values.tls.certManager.csiDriver -}}
{{- printf "/etc/omnirelay/tls/tls.%s" .file -}}
{{- else -}}
{{- printf "/etc/omnirelay/tls/$(OMNIRELAY_ID).%s" .file -}}
{{- end -}}
{{- end -}}

{{/*
omnirelay.csiVolume is the volume of cert-manager's csi-driver that has tls.certManager.issuerRef sign
a certificate for the mounting pod alone (dict with root, uri: the URI SAN, dnsNames: a list). The
driver expands ${POD_NAME} and ${POD_NAMESPACE}; it writes tls.crt, tls.key and ca.crt, readable
by the pod's group. ECDSA P-256 and the lifetimes of the Certificates, renewed in place.
*/}}
{{- define "omnirelay.csiVolume" -}}
{{- $tls := .root.Values.tls.certManager -}}
{{- $group := .root.Values.podSecurityContext.runAsGroup | default .root.Values.podSecurityContext.fsGroup -}}
csi:
  driver: csi.cert-manager.io
  readOnly: true
  volumeAttributes:
    csi.cert-manager.io/issuer-name: {{ $tls.issuerRef.name | quote }}
    csi.cert-manager.io/issuer-kind: {{ $tls.issuerRef.kind | quote }}
    csi.cert-manager.io/issuer-group: {{ $tls.issuerRef.group | quote }}
    csi.cert-manager.io/uri-sans: {{ .uri | quote }}
    {{- with .dnsNames }}
    csi.cert-manager.io/dns-names: {{ join "," . | quote }}
    {{- end }}
    csi.cert-manager.io/duration: {{ $tls.duration | quote }}
    csi.cert-manager.io/renew-before: {{ $tls.renewBefore | quote }}
    csi.cert-manager.io/key-algorithm: ECDSA
    csi.cert-manager.io/key-size: '256'
    csi.cert-manager.io/key-encoding: PKCS8
    csi.cert-manager.io/key-usages: digital signature,key encipherment,server auth,client auth
    csi.cert-manager.io/certificate-file: tls.crt
    csi.cert-manager.io/privatekey-file: tls.key
    csi.cert-manager.io/ca-file: ca.crt
    {{- with $group }}
    csi.cert-manager.io/fs-group: {{ . | quote }}
    {{- end }}
{{- end -}}
