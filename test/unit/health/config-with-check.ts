// A small valid config whose one stage (pipeline web, stage staging) has the given checks, for
// tests of what the health activities let run.
export function configWithCheck(...checks: string[]): string {
  return `
registries: [ { name: local, url: "http://127.0.0.1:5000" } ]
clusters: { local: { kubeconfig: ./kube } }
images: [ { name: web, registry: local, repository: acme/web, track: { tag: "1" }, pipeline: web } ]
pipelines:
  web:
    stages:
      - name: staging
        cluster: local
        targets: [ { namespace: web, deployment: api } ]
        health: { checks: [ ${checks.join(', ')} ] }
`;
}
