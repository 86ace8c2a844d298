"""Platform connectors, one package per platform over one transport (``http``) and one
page loop (``pagination``); ``registry.REGISTRY`` names them by source type. Connectors
import only the canonical records (``leadflow.models.records``) and the transport."""
