/**
 * Two Reprise replicas on a three-master Redis Cluster (Debian's Redis 7), each mirroring the vectors
 * (`--redis-search mirror`): the suite of test/helpers/cluster-replicas.ts.
 */
import { clusterReplicaSuite } from '../helpers/cluster-replicas.js';

clusterReplicaSuite('mirror');
