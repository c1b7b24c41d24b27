"""Deterministic byte mutations: the byte-input fuzzer used when atheris is absent, and the corruptions that the
fail-closed properties are stated over (spec/security.md#fail-closed).

Every generator takes a ``random.Random`` so that a run is reproducible from its seed: the bounded run in
``make test`` is a fixed prefix of the same stream that ``make fuzz`` walks much further.
"""

from __future__ import annotations

import random
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

# Tokens that tend to reach deep code paths or known weak spots of parsers; spliced in by ``mutate``.
COMMON_TOKENS: tuple[bytes, ...] = (
    b"\x00", b"\xff", b"\xff\xd8", b"\xff\xd9", b"\xff\xe1", b"\x89PNG\r\n\x1a\n", b"RIFF", b"WEBP", b"II*\x00",
    b"MM\x00*", b"ftypavif", b"iTXt", b"XML:com.adobe.xmp\x00", b"http://ns.adobe.com/xap/1.0/\x00",
    b"<?xpacket begin=", b"<?xpacket end='w'?>", b'<!DOCTYPE x [<!ENTITY a "aaaaaaaaaa">]>', b"&a;", b"<![CDATA[",
    b"]]>", b"<rdf:li>", b"</rdf:li>", b"\"", b"\\", b"\\u0000", b"\\ud800", b"{", b"}", b"[", b"]", b"[" * 200,
    b"{\"a\":" * 200, b"(" * 200, b"null", b"-1", b"1e999", b"NaN", b"9" * 400, b"9" * 4400, b"\r\n", b"\n" * 3, b"\t",
    b"\xef\xbb\xbf", b"\xc3\x28", b"\xed\xa0\x80", b"\xe2\x80\xae", b"\x1b[31m",
    b"@context", b"@graph", b"@id", b"@type", b"@value", b"@list", b"@reverse", b"https://w3id.org/aiterms/",
    b"User-agent: *", b"Disallow: /", b"Allow: /", b"Content-Usage: ", b"Content-Signal: ", b"train-ai=y",
    b"train-ai=n", b"train-genai=n", b"ai=n", b"search=y", b";a=1", b"=?", b", ", b"noai", b"noimageai",
    b"tdm-reservation", b"tdm-policy", b"DMI-ALLOWED", b"DMI-PROHIBITED", b"plus:DataMining",
    b"c2pa.training-mining", b"cawg.training-mining", b"allowed", b"notAllowed", b"constrained", b"permit",
    b"prohibit", b"given", b"refused", b"effect", b"rules", b"declarations", b"no_cv",
)


@dataclass(frozen=True, slots=True)
class Mutant:
    """One generated input: the bytes, how it was made, and which seed it came from."""

    data: bytes
    how: str  # "truncate", "flip", "oversize", "mutate", "random", "seed"
    seed: int = -1  # index into the seed list, -1 when not derived from one


def truncations(data: bytes, rng: random.Random, count: int) -> list[int]:
    """Cut points for prefixes of ``data``: every point when it is small, else evenly spaced plus random ones."""
    n = len(data)
    if n <= count:
        return list(range(n))
    even = [n * i // (count // 2) for i in range(count // 2)]
    rand = [rng.randrange(n) for _ in range(count - len(even))]
    return sorted(set(even + rand))


def flip(data: bytes, rng: random.Random, flips: int = 1) -> bytes:
    """``flips`` random bytes replaced by a different random byte (never a no-op on non-empty input)."""
    if not data:
        return data
    buf = bytearray(data)
    for _ in range(flips):
        i = rng.randrange(len(buf))
        buf[i] ^= rng.randrange(1, 256)
    return bytes(buf)


def mutate(data: bytes, rng: random.Random, others: Sequence[bytes] = (), tokens: Sequence[bytes] = (),
           max_len: int = 1 << 20) -> bytes:
    """One to four havoc-style mutations (AFL's ideas): flips, inserts, deletes, duplicates, splices, tokens."""
    buf = bytearray(data)
    vocab = tuple(tokens) + COMMON_TOKENS
    for _ in range(rng.choice((1, 1, 2, 2, 3, 4))):
        op = rng.randrange(11)
        n = len(buf)
        if op == 0 and n:  # flip bits
            i = rng.randrange(n)
            buf[i] ^= 1 << rng.randrange(8)
        elif op == 1 and n:  # random byte
            buf[rng.randrange(n)] = rng.randrange(256)
        elif op == 2 and n:  # delete a range
            i = rng.randrange(n)
            del buf[i:i + rng.randint(1, max(1, min(64, n - i)))]
        elif op == 3:  # insert random bytes
            i = rng.randrange(n + 1)
            buf[i:i] = bytes(rng.randrange(256) for _ in range(rng.randint(1, 16)))
        elif op == 4:  # insert a token
            i = rng.randrange(n + 1)
            buf[i:i] = rng.choice(vocab)
        elif op == 5 and n:  # overwrite with a token
            i = rng.randrange(n)
            t = rng.choice(vocab)
            buf[i:i + len(t)] = t
        elif op == 6 and n:  # duplicate a chunk
            i = rng.randrange(n)
            j = min(n, i + rng.randint(1, 256))
            k = rng.randrange(n + 1)
            buf[k:k] = buf[i:j] * rng.choice((1, 1, 2, 8))
        elif op == 7 and others:  # splice with another input
            other = rng.choice(others)
            if other:
                i = rng.randrange(n + 1)
                j = rng.randrange(len(other))
                buf = buf[:i] + other[j:j + rng.randint(1, 4096)]
        elif op == 8 and n:  # truncate
            del buf[rng.randrange(n):]
        elif op == 9 and n:  # interesting integers in binary headers
            i = rng.randrange(n)
            value = rng.choice((0, 1, 0x7F, 0x80, 0xFF, 0x7FFF, 0xFFFF, 0x7FFFFFFF, 0xFFFFFFFF))
            width = rng.choice((1, 2, 4))
            buf[i:i + width] = value.to_bytes(8, rng.choice(("big", "little")))[:width]
        elif op == 10 and n:  # swap two chunks
            i, j = sorted((rng.randrange(n), rng.randrange(n)))
            buf = buf[:i] + buf[j:] + buf[i:j]
    return bytes(buf[:max_len])


def stream(seeds: Sequence[bytes], rng: random.Random, tokens: Sequence[bytes] = ()) -> Iterator[Mutant]:
    """An endless reproducible stream: first the seeds themselves, then mostly mutants of seeds, some random."""
    for i, s in enumerate(seeds):
        yield Mutant(s, "seed", i)
    while True:
        r = rng.random()
        if seeds and r < 0.9:
            i = rng.randrange(len(seeds))
            data = seeds[i]
            for _ in range(rng.choice((1, 1, 1, 2, 4))):
                data = mutate(data, rng, seeds, tokens)
            yield Mutant(data, "mutate", i)
        else:
            yield Mutant(bytes(rng.randrange(256) for _ in range(rng.randint(0, 512))), "random")


def corruptions(seed: bytes, rng: random.Random, *, truncate: int, flips: int) -> Iterator[Mutant]:
    """The corruptions of one seed that the fail-closed properties are about: prefixes and single-byte flips."""
    for cut in truncations(seed, rng, truncate):
        yield Mutant(seed[:cut], "truncate")
    for _ in range(flips if seed else 0):
        yield Mutant(flip(seed, rng, rng.choice((1, 1, 2))), "flip")
