"""How far a consumer group is behind the end of its topics: what it has yet to read and commit."""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass

from kafka import KafkaAdminClient, KafkaConsumer, TopicPartition
from prometheus_client.core import GaugeMetricFamily

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PartitionLag:
    """``committed`` is None for a group that never committed on this partition (it starts at the beginning)."""

    topic: str
    partition: int
    committed: int | None
    end: int
    lag: int


class ConsumerLag:
    """Reads a group's committed offsets and the topics' end offsets, without joining the group.

    Three requests a call (end offsets, beginning offsets, the group's offsets for every partition at
    once): a scheduler asks this while consumers are busy, and each request costs the broker too.
    """

    def __init__(self, bootstrap: str, group_id: str, topics: list[str]) -> None:
        self.bootstrap = bootstrap
        self.group_id = group_id
        self.topics = topics
        self._consumer: KafkaConsumer | None = None
        self._admin: KafkaAdminClient | None = None

    def behind(self) -> int:
        """Records on the topics the group has not committed yet (a group that never committed: all of them)."""
        return sum(partition.lag for partition in self.partitions())

    def partitions(self) -> list[PartitionLag]:
        """Each partition of the topics: the group's committed offset, the end offset, and what lies between."""
        consumer, admin = self._clients()
        try:
            partitions = [TopicPartition(topic, p) for topic in self.topics
                          for p in sorted(consumer.partitions_for_topic(topic) or ())]
            ends = consumer.end_offsets(partitions)
            starts = consumer.beginning_offsets(partitions)
            offsets = admin.list_group_offsets({self.group_id: partitions}).get(self.group_id, {})
            found = []
            for partition in partitions:
                offset = offsets.get(partition)
                committed = offset.offset if offset is not None and offset.offset >= 0 else None
                start = committed if committed is not None else starts[partition]
                found.append(PartitionLag(partition.topic, partition.partition, committed, ends[partition],
                                          max(ends[partition] - start, 0)))
            return found
        except Exception:
            self.close()
            raise

    def _clients(self) -> tuple[KafkaConsumer, KafkaAdminClient]:
        if self._consumer is None:
            self._consumer = KafkaConsumer(bootstrap_servers=self.bootstrap, enable_auto_commit=False,
                                           request_timeout_ms=10000)
            self._admin = KafkaAdminClient(bootstrap_servers=self.bootstrap, request_timeout_ms=10000)
        return self._consumer, self._admin

    def close(self) -> None:
        if self._consumer is not None:
            self._consumer.close(autocommit=False)
            self._admin.close()
            self._consumer = self._admin = None


class ConsumerLagCollector:
    """``branchwork_consumer_lag{consumer, topic, partition}`` for the consumer running in this process.

    Read from Kafka when Prometheus scrapes, at most every ``ttl_seconds``: the group's committed offsets
    against the partitions' ends, as ``branchwork status`` reports them.
    """

    def __init__(self, consumer: str, lag: ConsumerLag, ttl_seconds: float = 15.0) -> None:
        self.consumer = consumer
        self.lag = lag
        self.ttl = ttl_seconds
        self._read_at = float("-inf")
        self._partitions: list[PartitionLag] = []
        self._lock = threading.Lock()

    def describe(self):
        return [self._family()]

    def _family(self):
        return GaugeMetricFamily("branchwork_consumer_lag", "Records a consumer group has not committed yet",
                                 labels=["consumer", "topic", "partition"])

    def collect(self):
        with self._lock:
            if time.monotonic() - self._read_at > self.ttl:
                try:
                    self._partitions = self.lag.partitions()
                except Exception:  # Kafka away: the scrape goes on without the lag (its absence alerts)
                    log.warning("consumer lag of %s unavailable", self.consumer, exc_info=True)
                    self._partitions = []
                self._read_at = time.monotonic()
            family = self._family()
            for partition in self._partitions:
                family.add_metric([self.consumer, partition.topic, str(partition.partition)], partition.lag)
        yield family
