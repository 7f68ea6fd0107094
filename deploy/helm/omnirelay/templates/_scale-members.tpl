{{/*
omnirelay.scaleMembersHook renders one direction of the scaling hook (dict with root, direction
"remove" or "add", hook "pre-upgrade" or "post-upgrade"): a ConfigMap with files/scale-members.js
and a Job that runs it in the image's Node.js with a mesh.admin token, through the client Service.
*/}}
{{- define "omnirelay.scaleMembersHook" -}}
{{- $root := .root -}}
{{- $direction := .direction -}}
{{- $fullname := include "omnirelay.fullname" $root -}}
{{- $name := printf "%s-%s-members" $fullname $direction -}}
{{- $values := $root.Values -}}
{{- $scheme := ternary "https" "http" $values.tls.enabled -}}
apiVersion: v1
kind: ConfigMap
metadata:
  name: {{ $name }}
  labels:
    {{- include "omnirelay.labels" $root | nindent 4 }}
  annotations:
    helm.sh/hook: {{ .hook }}
    helm.sh/hook-weight: '-10'
    helm.sh/hook-delete-policy: before-hook-creation,hook-succeeded
data:
  scale-members.js: |-
    {{- $root.Files.Get "files/scale-members.js" | nindent 4 }}
---
apiVersion: batch/v1
kind: Job
metadata:
  name: {{ $name }}
  labels:
    {{- include "omnirelay.labels" $root | nindent 4 }}
  annotations:
    helm.sh/hook: {{ .hook }}
    helm.sh/hook-weight: '0'
    helm.sh/hook-delete-policy: before-hook-creation,hook-succeeded
spec:
  backoffLimit: 2
  {{- if eq $direction "add" }}
  # Each new member may take catchUpTimeoutSeconds to start and catch up; a retry resumes.
  activeDeadlineSeconds: {{ add 120 (mul (int $values.scaling.addMembersHook.catchUpTimeoutSeconds) (int $values.replicas)) }}
  {{- else }}
  activeDeadlineSeconds: 300
  {{- end }}
  template:
    metadata:
      labels:
        app.kubernetes.io/name: {{ printf "%s-%s-members" (include "omnirelay.name" $root) $direction }}
        app.kubernetes.io/instance: {{ $root.Release.Name }}
    spec:
      restartPolicy: Never
      automountServiceAccountToken: false
      enableServiceLinks: false
      {{- with $values.imagePullSecrets }}
      imagePullSecrets:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      securityContext:
        {{- toYaml $values.podSecurityContext | nindent 8 }}
      containers:
        - name: {{ printf "%s-members" $direction }}
          image: {{ printf "%s:%s" $values.image.repository (default $root.Chart.AppVersion $values.image.tag) | quote }}
          imagePullPolicy: {{ $values.image.pullPolicy }}
          command:
            - node
            - /etc/omnirelay/scale/scale-members.js
          env:
            - name: OMNIRELAY_SCALE_DIRECTION
              value: {{ $direction }}
            - name: OMNIRELAY_SCALE_URL
              value: {{ printf "%s://%s.%s.svc.%s:%d" $scheme $fullname $root.Release.Namespace $values.clusterDomain (int $values.ports.http) | quote }}
            - name: OMNIRELAY_SCALE_MEMBER_PREFIX
              value: {{ printf "%s-" $fullname | quote }}
            - name: OMNIRELAY_SCALE_REPLICAS
              value: {{ $values.replicas | quote }}
            - name: OMNIRELAY_SCALE_TOKEN_FILE
              value: {{ printf "/etc/omnirelay/scale-token/%s" $values.scaling.tokenSecret.key | quote }}
            {{- if $values.tls.enabled }}
            - name: OMNIRELAY_SCALE_CA_FILE
              value: /etc/omnirelay/tls/ca.crt
            {{- end }}
            {{- if eq $direction "add" }}
            # Every member's addresses: a new member's go into its add-learner call, and the
            # leader's client address is where its replication progress is read.
            - name: OMNIRELAY_SCALE_MEMBERS_PEER
              value: {{ include "omnirelay.memberList" (dict "root" $root "port" $values.ports.peer) | quote }}
            - name: OMNIRELAY_SCALE_MEMBERS_HTTP
              value: {{ include "omnirelay.memberList" (dict "root" $root "port" $values.ports.http) | quote }}
            - name: OMNIRELAY_SCALE_MEMBERS_GRPC
              value: {{ include "omnirelay.memberList" (dict "root" $root "port" $values.ports.grpc) | quote }}
            - name: OMNIRELAY_SCALE_CATCH_UP_TIMEOUT_MS
              value: {{ mul (int $values.scaling.addMembersHook.catchUpTimeoutSeconds) 1000 | quote }}
            {{- end }}
          resources:
            requests:
              cpu: 50m
              memory: 64Mi
            limits:
              memory: 128Mi
          securityContext:
            {{- toYaml $values.securityContext | nindent 12 }}
          volumeMounts:
            - name: script
              mountPath: /etc/omnirelay/scale
              readOnly: true
            - name: token
              mountPath: /etc/omnirelay/scale-token
              readOnly: true
            {{- if $values.tls.enabled }}
            - name: tls
              mountPath: /etc/omnirelay/tls
              readOnly: true
            {{- end }}
      volumes:
        - name: script
          configMap:
            name: {{ $name }}
        - name: token
          secret:
            secretName: {{ $values.scaling.tokenSecret.name }}
            defaultMode: 0400
            items:
              - key: {{ $values.scaling.tokenSecret.key }}
                path: {{ $values.scaling.tokenSecret.key }}
        {{- if $values.tls.enabled }}
        - name: tls
          {{- if $values.tls.certManager.csiDriver }}
          # The Job reads only ca.crt, which the csi-driver writes beside a certificate for the
          # Job itself; its URI is no member's (spiffe://<cluster.id>/node/...), so the peer port
          # refuses it.
          {{- include "omnirelay.csiVolume" (dict "root" $root "uri" (printf "spiffe://%s/hook/%s-members" $values.cluster.id $direction)) | nindent 10 }}
          {{- else }}
          secret:
            # Only the CA: the Job verifies the members, it presents no certificate.
            secretName: {{ ternary (printf "%s-0-tls" $fullname) $values.tls.existingSecret $values.tls.certManager.enabled }}
            defaultMode: 0400
            items:
              - key: ca.crt
                path: ca.crt
          {{- end }}
        {{- end }}
{{- end -}}
