// The Deployment names the activities and the freshness collector have always imported; every
// kind now shares them through the workload adapters.
export {
  annotations,
  containerImage,
  containerNames,
  type DeploymentState,
  imagePatch,
  labelsMatch,
  ownerOf,
  parseDeployment,
  patchContainerImage,
  readDeployment,
  selectorText,
  workloadRef as deploymentRef,
} from './workload.ts';
