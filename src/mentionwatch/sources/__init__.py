"""The sources tier: one module per platform behind the `Source` interface in base.py.

`registry` lists the platforms and what their config may say (the rest of the program
learns about platforms only from it); `*_api.py` hold a platform's plumbing, `*_reply.py`
its posting. Platform names appear nowhere else.
"""
