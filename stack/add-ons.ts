// Components a running stack can gain. Each depends on no other component, so `up` on a live
// stack that lacks one (started before the component existed, or an optional one asked for now)
// starts just that one.

import type { Launcher } from './launcher.ts';
import {
  type AddOnName,
  addOnNames,
  type Binaries,
  type Endpoints,
  type OptionalAddOnName,
  type Ports,
  type StackState,
  type StoredState,
} from './layout.ts';
import { startMoto } from './moto.ts';
import { startNotifyReceiver } from './notify-receiver-start.ts';
import { startTemporalCluster } from './temporal-cluster.ts';
import { startZot } from './zot.ts';

type AnyAddOnName = AddOnName | OptionalAddOnName;

interface AddOn<N extends AnyAddOnName> {
  binaries: (keyof Binaries)[];
  /** Checked free before it starts, so a clash names the port instead of a crash log. */
  ports: (keyof Ports)[];
  start(l: Launcher): Promise<NonNullable<Endpoints[N]>>;
}

const addOns: { [N in AnyAddOnName]: AddOn<N> } = {
  moto: { binaries: ['motoPython', 'motoServer'], ports: ['moto'], start: startMoto },
  zot: { binaries: ['zot', 'htpasswd'], ports: ['zot'], start: startZot },
  notifyReceiver: { binaries: [], ports: ['notifyReceiver'], start: startNotifyReceiver },
  temporalCluster: {
    binaries: ['temporalServer', 'temporalSqlTool', 'postgres', 'initdb', 'pgIsReady', 'setpriv'],
    ports: [
      'postgres',
      'temporalCluster',
      'temporalClusterHttp',
      'temporalClusterMetrics',
      'temporalClusterHistory',
      'temporalClusterMatching',
      'temporalClusterWorker',
    ],
    start: startTemporalCluster,
  },
};

/** The add-ons every stack runs, and the optional ones asked for, that the state lacks. */
export function missingAddOns(state: StoredState, wanted: readonly OptionalAddOnName[] = []): AnyAddOnName[] {
  return [...addOnNames, ...wanted].filter((name) => state.endpoints[name] === undefined);
}

/** True when the state records every add-on, as each `up` of this version leaves it. */
export function hasEveryAddOn(state: StoredState): state is StackState {
  return missingAddOns(state).length === 0;
}

export const addOnBinaries = (names: readonly AnyAddOnName[]) => names.flatMap((n) => addOns[n].binaries);
export const addOnPorts = (names: readonly AnyAddOnName[]) => names.flatMap((n) => addOns[n].ports);

/** Starts the named add-ons together; the first that fails rejects (the caller stops what started). */
export async function startAddOns<N extends AnyAddOnName>(
  names: readonly N[],
  l: Launcher,
): Promise<Pick<Endpoints, N>> {
  const entries = await Promise.all(
    names.map(async (name) => [name, await (addOns[name] as AddOn<N>).start(l)] as const),
  );
  return Object.fromEntries(entries) as Pick<Endpoints, N>;
}
