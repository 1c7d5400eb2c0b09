// The smallest valid config the config tests start from: one registry, cluster, image and pipeline.
export const base = `
registries:
  - { name: local, url: "http://127.0.0.1:5000" }
clusters:
  staging: { kubeconfig: ./kube }
images:
  - { name: web, registry: local, repository: acme/web, track: { tag: "1.4" }, pipeline: web }
pipelines:
  web:
    stages:
      - name: staging
        cluster: staging
        targets: [ { namespace: web, deployment: api } ]
`;
