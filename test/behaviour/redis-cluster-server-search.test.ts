/**
 * Two Reprise replicas on a three-master Redis 8 Cluster searching inside Redis (`--redis-search server`, vector
 * sets): the suite of test/helpers/cluster-replicas.ts.
 */
import { clusterReplicaSuite } from '../helpers/cluster-replicas.js';

clusterReplicaSuite('server');
