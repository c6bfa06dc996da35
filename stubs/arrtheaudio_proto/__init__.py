"""ArrTheAudio's generated gRPC stubs (proto package ``arrtheaudio.v1``), a package of their own.

Both the server and the client import ``arrtheaudio_proto.v1``; importing it loads neither.
Regenerate with ``python scripts/gen_proto.py`` (never edit the ``*_pb2*`` files by hand).
"""
