"""Coverage scenarios shipped with proxyhunt (package data read by ``proxyhunt validate``)."""
