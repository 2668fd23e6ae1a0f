"""What the worker process tests do to an SQS queue and a worker's SQLite file, shared: a boto3
SQS client for the fauxqs that tests/support/peers.py started, loading documents as SNS would
deliver them, a queue's depth, and how many events a database holds while a worker writes it."""
import os
import sqlite3
from concurrent.futures import ThreadPoolExecutor

import boto3


def sqs():
    return boto3.client("sqs", endpoint_url=os.environ.get("MAILTRACK_TEST_FAUXQS_URL", ""), region_name="us-east-1")


def publish_all(queue, docs, threads=8):
    """Sends each document as one message, ten per SendMessageBatch, from `threads` threads;
    raises on any entry the queue refused."""
    client = sqs()
    batches = [docs[i:i + 10] for i in range(0, len(docs), 10)]

    def send(batch):
        r = client.send_message_batch(QueueUrl=queue, Entries=[{"Id": str(i), "MessageBody": b}
                                                               for i, b in enumerate(batch)])
        assert not r.get("Failed"), r
    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(send, batches))


def depth(queue):
    """(visible, in flight) messages of the queue."""
    a = sqs().get_queue_attributes(QueueUrl=queue, AttributeNames=[
        "ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"])["Attributes"]
    return int(a["ApproximateNumberOfMessages"]), int(a["ApproximateNumberOfMessagesNotVisible"])


def stored_events(db, when_busy=0):
    """Events in the SQLite file `db` (0 before it exists); `when_busy` while the worker holds it
    locked or is still creating its tables."""
    if not os.path.exists(db):
        return 0
    con = sqlite3.connect(db, timeout=0.1)
    try:
        return con.execute("SELECT count(*) FROM events").fetchone()[0]
    except sqlite3.OperationalError:
        return when_busy
    finally:
        con.close()
