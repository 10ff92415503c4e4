"""A real OpenAI-compatible LLM server on loopback for the judge tests.

`transformers serve` (a subprocess) serves tiny Qwen2 models built locally (no download), in front of it a proxy
(a thread) that counts requests, measures how many are in flight, and injects failures on demand: HTTP 503, a
dropped connection, a stall until the client times out (at most `stall_s`), or HTTP 400.

The server subprocess runs this file: it writes the model folders, then hands over to the `transformers serve`
command in the same interpreter. Building there costs nothing extra (the server imports torch and transformers
anyway) and keeps both out of the test process.

The models share random weights and a byte-level BPE tokenizer; they differ only in their generation config:
- "random": plain greedy decoding of random weights, i.e. garbage text;
- one model per forced answer: the answer is one added token, and the generation config suppresses every other
  token but end-of-text, demands one new token and forbids repeating it, so the model says exactly that answer
  and stops. That is real generation on the server, just made deterministic.
"""
from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Iterable, Mapping

import httpx

END_OF_TEXT = "<|endoftext|>"
# The chat template ends turns with <|im_end|>, never with end-of-text, so "no repeated token" cannot ban the
# end-of-text that the forced models need to stop.
CHAT_TEMPLATE = (
    "{% for m in messages %}<|im_start|>{{ m['role'] }}\n{{ m['content'] }}<|im_end|>\n{% endfor %}"
    "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)
FAULTS = ("503", "drop", "stall", "400")


def build_tiny_chat_models(root: Path, forced_answers: Mapping[str, str]) -> dict[str, Path]:
    """Save "random" and one model folder per forced answer under `root`; returns name -> folder."""
    import torch
    from tokenizers import AddedToken, Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import GenerationConfig, PreTrainedTokenizerFast, Qwen2Config, Qwen2ForCausalLM

    bpe = Tokenizer(models.BPE())
    bpe.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    bpe.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=400,
        special_tokens=[END_OF_TEXT, "<|im_start|>", "<|im_end|>"],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
    )
    bpe.train_from_iterator(["Rate the scientific value of the document: score, reason, discipline."] * 8, trainer)
    bpe.add_tokens([AddedToken(text, normalized=False) for text in forced_answers.values()])
    tokenizer = PreTrainedTokenizerFast(tokenizer_object=bpe, eos_token=END_OF_TEXT, pad_token=END_OF_TEXT)
    tokenizer.chat_template = CHAT_TEMPLATE

    torch.manual_seed(0)
    config = Qwen2Config(
        vocab_size=len(tokenizer),
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=2,
        num_key_value_heads=1,
        max_position_embeddings=8192,
        tie_word_embeddings=True,
        # Large random weights make greedy decoding wander through the vocabulary instead of repeating one token.
        initializer_range=0.5,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
    )
    model = Qwen2ForCausalLM(config)
    stop = {"eos_token_id": tokenizer.eos_token_id, "pad_token_id": tokenizer.pad_token_id}
    generation_configs = {"random": GenerationConfig(do_sample=False, **stop)}
    for name, text in forced_answers.items():
        allowed = {tokenizer.convert_tokens_to_ids(text), tokenizer.eos_token_id}
        generation_configs[name] = GenerationConfig(
            do_sample=False,
            suppress_tokens=[token for token in range(len(tokenizer)) if token not in allowed],
            min_new_tokens=1,
            no_repeat_ngram_size=1,
            **stop,
        )
    folders = {}
    for name, generation_config in generation_configs.items():
        folder = root / name
        model.generation_config = generation_config
        model.save_pretrained(folder)
        tokenizer.save_pretrained(folder)
        folders[name] = folder
    return folders


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class TransformersServeProcess:
    """`transformers serve` on a free loopback port, offline, one CPU thread, serving the models named by
    `models` ("random" plus one per forced answer), which it builds under `root` before it listens."""

    def __init__(self, root: Path, forced_answers: Mapping[str, str]) -> None:
        self.root = root
        self.forced_answers = dict(forced_answers)
        self.models = {name: root / name for name in ("random", *self.forced_answers)}
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = root / "serve.log"
        self._process: subprocess.Popen[bytes] | None = None

    def start(self, timeout_s: float = 110.0) -> None:
        env = {**os.environ, "HF_HUB_OFFLINE": "1", "OMP_NUM_THREADS": "1", "TOKENIZERS_PARALLELISM": "false"}
        command = [sys.executable, __file__, str(self.root), json.dumps(self.forced_answers), "--host", "127.0.0.1",
                   "--port", str(self.port), "--device", "cpu"]
        with self.log_path.open("wb") as log:
            self._process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=env)
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise RuntimeError(f"transformers serve exited early:\n{self.log_tail()}")
            try:
                if httpx.get(f"{self.url}/health", timeout=1.0).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"transformers serve not healthy after {timeout_s} s:\n{self.log_tail()}")

    def warm_up(self) -> None:
        """Load each model once, so that no test's timeout includes a model load."""
        for folder in self.models.values():
            body = {"model": str(folder), "messages": [{"role": "user", "content": "hi"}], "max_tokens": 2}
            httpx.post(f"{self.url}/v1/chat/completions", json=body, timeout=60.0).raise_for_status()

    def requests_logged(self) -> int:
        return self.log_path.read_text(errors="replace").count("[Request received]")

    def log_tail(self) -> str:
        return self.log_path.read_text(errors="replace")[-3000:] if self.log_path.exists() else ""

    def stop(self) -> None:
        if self._process is None or self._process.poll() is not None:
            return
        self._process.terminate()
        try:
            self._process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait(timeout=10)


class FaultInjectingProxy:
    """Forwards POSTs to the upstream server; counts them; fails the next ones as told by `inject`."""

    def __init__(self, upstream: str, stall_s: float = 30.0) -> None:
        self.upstream = upstream
        self.stall_s = stall_s
        self._lock = threading.Lock()
        self._faults: list[str] = []
        self.received = self.forwarded = self.in_flight = self.max_in_flight = 0
        self._upstream_client = httpx.Client(base_url=upstream, timeout=60.0)
        self._server = ThreadingHTTPServer(("127.0.0.1", free_port()), self._handler_class())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, name="fault-proxy", daemon=True)

    @property
    def base_url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}/v1"

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._upstream_client.close()

    def reset(self) -> None:
        with self._lock:
            self._faults.clear()
            self.received = self.forwarded = 0
            self.max_in_flight = self.in_flight

    def inject(self, faults: Iterable[str]) -> None:
        """The next requests, one per fault in order, fail that way instead of reaching the server."""
        faults = list(faults)
        unknown = set(faults) - set(FAULTS)
        if unknown:
            raise ValueError(f"unknown faults {sorted(unknown)}; known: {FAULTS}")
        with self._lock:
            self._faults.extend(faults)

    def _enter(self) -> str | None:
        with self._lock:
            self.received += 1
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
            return self._faults.pop(0) if self._faults else None

    def _leave(self, forwarded: bool) -> None:
        with self._lock:
            self.in_flight -= 1
            self.forwarded += forwarded

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                fault = proxy._enter()
                try:
                    if fault in ("drop", "stall"):
                        if fault == "stall":
                            self._wait_for_client_to_give_up()
                        self.close_connection = True
                        try:
                            self.connection.shutdown(socket.SHUT_RDWR)
                        except OSError:  # the client gave up first
                            pass
                    elif fault in ("503", "400"):
                        self._reply(int(fault), json.dumps({"error": f"injected {fault}"}).encode(), "application/json")
                    else:
                        upstream = proxy._upstream_client.post(
                            self.path, content=body, headers={"Content-Type": "application/json"}
                        )
                        self._reply(upstream.status_code, upstream.content, upstream.headers.get("content-type", ""))
                finally:
                    proxy._leave(forwarded=fault is None)

            def _wait_for_client_to_give_up(self) -> None:
                # The client sends nothing more on this connection; recv returns when it closes (its timeout).
                self.connection.settimeout(proxy.stall_s)
                try:
                    self.connection.recv(1)
                except OSError:  # includes socket.timeout: the client outlasted stall_s
                    pass

            def _reply(self, status: int, payload: bytes, content_type: str) -> None:
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, format: str, *args: object) -> None:
                """Silent: the counters are the record."""

        return Handler


def _build_then_serve(argv: list[str]) -> None:
    root, forced_answers, *serve_options = argv
    build_tiny_chat_models(Path(root), json.loads(forced_answers))
    from transformers.cli.transformers import main

    sys.argv = ["transformers", "serve", *serve_options]
    main()


if __name__ == "__main__":
    _build_then_serve(sys.argv[1:])
