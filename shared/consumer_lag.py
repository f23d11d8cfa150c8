"""How far a consumer group is behind the end of its topics: what it has yet to read and commit."""

from __future__ import annotations

from kafka import KafkaAdminClient, KafkaConsumer, TopicPartition


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
        consumer, admin = self._clients()
        try:
            partitions = [TopicPartition(topic, p) for topic in self.topics
                          for p in sorted(consumer.partitions_for_topic(topic) or ())]
            ends = consumer.end_offsets(partitions)
            starts = consumer.beginning_offsets(partitions)
            committed = admin.list_group_offsets({self.group_id: partitions}).get(self.group_id, {})
            total = 0
            for partition in partitions:
                offset = committed.get(partition)
                start = offset.offset if offset is not None and offset.offset >= 0 else starts[partition]
                total += max(ends[partition] - start, 0)
            return total
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
