"""One eSpeak NG synthesis in a fresh process (stdlib only; run by ``pase.corpus.espeak``).

libespeak-ng keeps internal state (noise generator, prosody buffers) between calls, so a second
synthesis of the same text in one process differs from the first, and the library cannot be
re-initialised after ``espeak_Terminate``. A fresh process per synthesis is the only way to get
the same samples for the same arguments.

Protocol: one JSON request on stdin ``{"text", "voice", "rate", "pitch", "pitch_range",
"word_gap", "library"}``; on stdout one JSON header line ``{"sample_rate", "num_samples",
"events": [[name, sample], ...], "end": sample}`` followed by ``num_samples`` native-endian
int16 samples. Errors: exit status 2 and a message on stderr.
"""

from __future__ import annotations

import ctypes
import json
import os
import sys

AUDIO_OUTPUT_SYNCHRONOUS = 2
INITIALIZE_PHONEME_EVENTS = 0x1
CHARS_UTF8 = 1
POS_CHARACTER = 1
EVENT_LIST_TERMINATED = 0
EVENT_END = 5
EVENT_MSG_TERMINATED = 6
EVENT_PHONEME = 7
PARAM_RATE = 1
PARAM_PITCH = 3
PARAM_RANGE = 4
PARAM_WORDGAP = 7


class _EventId(ctypes.Union):
    _fields_ = (("number", ctypes.c_int), ("name", ctypes.c_char_p), ("string", ctypes.c_char * 8))


class _Voice(ctypes.Structure):
    # espeak_VOICE from speak_lib.h.
    _fields_ = (
        ("name", ctypes.c_char_p),
        ("languages", ctypes.c_void_p),  # read raw: it holds embedded NULs
        ("identifier", ctypes.c_char_p),
        ("gender", ctypes.c_ubyte),
        ("age", ctypes.c_ubyte),
        ("variant", ctypes.c_ubyte),
        ("xx1", ctypes.c_ubyte),
        ("score", ctypes.c_int),
        ("spare", ctypes.c_void_p),
    )


class _Event(ctypes.Structure):
    # espeak_EVENT from speak_lib.h (40 bytes on x86_64).
    _fields_ = (
        ("type", ctypes.c_int),
        ("unique_identifier", ctypes.c_uint),
        ("text_position", ctypes.c_int),
        ("length", ctypes.c_int),
        ("audio_position", ctypes.c_int),
        ("sample", ctypes.c_int),
        ("user_data", ctypes.c_void_p),
        ("id", _EventId),
    )


_Callback = ctypes.CFUNCTYPE(
    ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int, ctypes.POINTER(_Event)
)


def _languages(v: _Voice) -> list[tuple[int, str]]:
    """Decode espeak_VOICE.languages: repeated (priority byte, NUL-terminated name), then 0."""
    out = []
    base = v.languages
    if not base:
        return out
    i = 0
    while True:
        prio = ctypes.c_ubyte.from_address(base + i).value
        if prio == 0:
            return out
        name = ctypes.string_at(base + i + 1)
        out.append((prio, name.decode("ascii", "replace").lower()))
        i += len(name) + 2


def _set_voice(lib: ctypes.CDLL, voice: str) -> bool:
    """Select ``voice`` by file name (``en-us``, ``en+f2``) or, like the espeak-ng CLI, by
    language (``en-gb``, ``en-gb+f2``), keeping the ``+variant``."""
    lang, _, variant = voice.partition("+")
    if variant:
        # eSpeak silently ignores an unknown variant: check its file exists.
        data = ctypes.c_char_p()
        lib.espeak_Info.restype = ctypes.c_char_p
        lib.espeak_Info(ctypes.byref(data))
        if data.value and not os.path.isfile(
            os.path.join(data.value.decode(), "voices", "!v", variant)
        ):
            return False
    if lib.espeak_SetVoiceByName(voice.encode("utf-8")) == 0:
        return True
    lib.espeak_ListVoices.restype = ctypes.POINTER(ctypes.POINTER(_Voice))
    voices = lib.espeak_ListVoices(None)
    best: tuple[int, bytes] | None = None
    i = 0
    while voices[i]:
        v = voices[i].contents
        for prio, name in _languages(v):
            if name == lang.lower() and (best is None or prio < best[0]):
                best = (prio, v.identifier)
        i += 1
    if best is None:
        return False
    ident = best[1] + (b"+" + variant.encode("utf-8") if variant else b"")
    return lib.espeak_SetVoiceByName(ident) == 0


def _fail(msg: str) -> None:
    sys.stderr.write(msg + "\n")
    sys.exit(2)


def main() -> None:
    req = json.loads(sys.stdin.read())
    try:
        lib = ctypes.CDLL(req.get("library") or "libespeak-ng.so.1")
    except OSError as e:
        _fail(f"cannot load libespeak-ng ({e}); install espeak-ng / libespeak-ng1")
    rate = lib.espeak_Initialize(AUDIO_OUTPUT_SYNCHRONOUS, 200, None, INITIALIZE_PHONEME_EVENTS)
    if rate <= 0:
        _fail(f"espeak_Initialize failed ({rate}); is espeak-ng-data installed?")

    chunks: list[bytes] = []
    events: list[list] = []
    end = [-1]

    def on_audio(wav, n, ev):  # type: ignore[no-untyped-def]
        if n > 0:
            chunks.append(ctypes.string_at(wav, 2 * n))
        i = 0
        while ev[i].type != EVENT_LIST_TERMINATED:
            e = ev[i]
            if e.type == EVENT_PHONEME:
                events.append([e.id.string.decode("ascii", "replace"), int(e.sample)])
            elif e.type in (EVENT_END, EVENT_MSG_TERMINATED):
                end[0] = max(end[0], int(e.sample))
            i += 1
        return 0

    cb = _Callback(on_audio)
    lib.espeak_SetSynthCallback(cb)
    if not _set_voice(lib, req["voice"]):
        _fail(f"unknown eSpeak voice {req['voice']!r} (see 'espeak-ng --voices' and variants)")
    for param, value in (
        (PARAM_RATE, req["rate"]),
        (PARAM_PITCH, req["pitch"]),
        (PARAM_RANGE, req["pitch_range"]),
        (PARAM_WORDGAP, req["word_gap"]),
    ):
        if lib.espeak_SetParameter(param, int(value), 0) != 0:
            _fail(f"espeak_SetParameter({param}, {value}) failed")
    text = req["text"].encode("utf-8") + b"\0"
    status = lib.espeak_Synth(text, len(text), 0, POS_CHARACTER, 0, CHARS_UTF8, None, None)
    if status != 0:
        _fail(f"espeak_Synth failed with status {status}")
    lib.espeak_Synchronize()
    audio = b"".join(chunks)
    header = {"sample_rate": rate, "num_samples": len(audio) // 2, "events": events, "end": end[0]}
    out = sys.stdout.buffer
    out.write(json.dumps(header).encode("utf-8") + b"\n")
    out.write(audio)
    out.flush()


if __name__ == "__main__":
    main()
