"""Chat backends for the LLM judge: an OpenAI-compatible HTTP endpoint, or vLLM in process.

Both take a batch of conversations and return one `ChatReply` per conversation, in order. A reply carries
either the assistant's text or the reason the request failed; a failure never raises, so one bad request
cannot sink a batch of thousands.
"""
from __future__ import annotations

import importlib.util
import logging
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Protocol, Sequence

import httpx

logger = logging.getLogger(__name__)

Messages = list[dict[str, str]]

# Retrying longer than this between two attempts only delays the report of a dead endpoint.
_MAX_BACKOFF_S = 30.0


@dataclass(frozen=True)
class ChatReply:
    """The assistant's text, or (content None) the reason the request failed."""

    content: str | None
    error: str | None = None


class ChatBackend(Protocol):
    def complete(self, conversations: Sequence[Messages]) -> list[ChatReply]: ...

    def close(self) -> None: ...


def vllm_importable() -> bool:
    return importlib.util.find_spec("vllm") is not None


class OpenAIChatBackend:
    """POSTs each conversation to `{base_url}/chat/completions` (the API of `vllm serve`, `transformers serve`,
    and OpenAI), `concurrency` requests in flight at most, retrying transient failures with exponential backoff.

    Transient: connection errors, dropped connections, timeouts, HTTP 429 and 5xx. Any other HTTP status is the
    request's own fault and is not retried.
    """

    def __init__(
        self,
        base_url: str,
        model: str,
        concurrency: int,
        timeout_s: float,
        max_retries: int,
        retry_backoff_s: float,
        max_output_tokens: int,
    ) -> None:
        self._model = model
        self._max_retries = max_retries
        self._retry_backoff_s = retry_backoff_s
        self._max_output_tokens = max_output_tokens
        self._client = httpx.Client(
            base_url=base_url.rstrip("/"),
            timeout=timeout_s,
            limits=httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency),
        )
        self._pool = ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="judge-http")

    def complete(self, conversations: Sequence[Messages]) -> list[ChatReply]:
        return list(self._pool.map(self._complete_one, conversations))

    def close(self) -> None:
        self._pool.shutdown(wait=True)
        self._client.close()

    def _complete_one(self, messages: Messages) -> ChatReply:
        body = {
            "model": self._model,
            "messages": messages,
            # Greedy decoding: the judgment of one document must not depend on the run.
            "temperature": 0.0,
            "max_tokens": self._max_output_tokens,
        }
        for attempt in range(self._max_retries + 1):
            try:
                response = self._client.post("/chat/completions", json=body)
            except httpx.TransportError as error:  # refused, dropped connection, read/connect timeout
                failure = type(error).__name__
            else:
                if response.status_code == 200:
                    return _reply_from_body(response)
                failure = f"HTTP {response.status_code}"
                if response.status_code != 429 and response.status_code < 500:
                    logger.warning("judge request rejected (%s): %s", failure, response.text[:200])
                    return ChatReply(None, "request_rejected")
            if attempt < self._max_retries:
                delay_s = min(self._retry_backoff_s * 2**attempt, _MAX_BACKOFF_S)
                logger.info("judge request failed (%s), retry %d in %.2f s", failure, attempt + 1, delay_s)
                time.sleep(delay_s)
        logger.warning("judge request failed after %d attempts, last: %s", self._max_retries + 1, failure)
        return ChatReply(None, "request_failed")


def _reply_from_body(response: httpx.Response) -> ChatReply:
    try:
        content = response.json()["choices"][0]["message"]["content"]
    except (ValueError, KeyError, IndexError, TypeError):
        logger.warning("judge endpoint answered 200 without a chat completion: %s", response.text[:200])
        return ChatReply(None, "bad_response")
    if not isinstance(content, str):
        return ChatReply(None, "bad_response")
    return ChatReply(content)


class VllmChatBackend:
    """vLLM's offline engine in this process (GPU machines). vLLM is an optional extra with its own torch pin,
    so it is imported here and nowhere else."""

    def __init__(self, model: str, max_output_tokens: int) -> None:
        try:
            from vllm import LLM, SamplingParams
        except ImportError as error:
            raise RuntimeError(
                "the in-process judge needs vLLM (pip install 'sciloom[vllm]' on a CUDA machine); "
                "otherwise serve the model with `vllm serve` and pass its base_url"
            ) from error
        self._llm = LLM(model=model)
        self._sampling = SamplingParams(temperature=0.0, max_tokens=max_output_tokens)

    def complete(self, conversations: Sequence[Messages]) -> list[ChatReply]:
        outputs = self._llm.chat(list(conversations), self._sampling, use_tqdm=False)
        return [ChatReply(output.outputs[0].text) for output in outputs]

    def close(self) -> None:
        """The engine lives as long as the process; nothing to release per judge."""
