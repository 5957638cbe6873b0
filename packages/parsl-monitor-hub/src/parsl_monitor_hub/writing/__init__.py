"""Writing to the database: the writer process, its protocol, and the hub's side of it.

Nothing is imported here: ``process`` (zmq and msgpack only) must stay cheap to import, so
the hub can start its writer before it imports SQLAlchemy itself.
"""
