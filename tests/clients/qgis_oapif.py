"""Run by Debian's python3 with PyQGIS (not our venv): load a collection through QGIS's
OGC API – Features provider, as the public or through an OAuth2 (resource owner)
configuration, and print what QGIS saw as JSON.

Usage: qgis_oapif.py BASE_URL COLLECTION [KEY]
"""

import json
import os
import sys
import tempfile

from qgis.core import QgsApplication, QgsAuthMethodConfig, QgsVectorLayer

base, collection = sys.argv[1], sys.argv[2]
key = sys.argv[3] if len(sys.argv) > 3 else None

app = QgsApplication([], False, tempfile.mkdtemp(prefix="qgis-profile-"))
app.initQgis()
uri = f"url='{base}' typename='{collection}'"
if key is not None:
    manager = QgsApplication.authManager()
    manager.setMasterPassword("test-master-password", True)
    config = QgsAuthMethodConfig("OAuth2")
    config.setName("geo-service")
    # As the dialog writes it: grant flow 2 = Resource Owner, config type 1 = custom,
    # access method 0 = the Authorization: Bearer header.
    oauth2 = {
        "accessMethod": 0,
        "apiKey": "",
        "clientId": "",
        "clientSecret": "",
        "configType": 1,
        "customHeader": "",
        "description": "",
        "grantFlow": 2,
        "id": "",
        "name": "geo-service",
        "objectName": "",
        "password": key,
        "persistToken": False,
        "queryPairs": {},
        "redirectPort": 7070,
        "redirectUrl": "",
        "refreshTokenUrl": "",
        "requestTimeout": 30,
        "requestUrl": "",
        "scope": "",
        "tokenUrl": f"{base}/oauth/token",
        "username": "qgis",
        "version": 1,
    }
    config.setConfig("oauth2config", json.dumps(oauth2))
    ok, config = manager.storeAuthenticationConfig(config)
    assert ok, "QGIS could not store the OAuth2 configuration"
    uri += f" authcfg={config.id()}"
layer = QgsVectorLayer(uri, collection, "OAPIF")
out = {"valid": layer.isValid(), "fields": [], "count": 0, "error": None}
if layer.isValid():
    out["fields"] = [f.name() for f in layer.fields()]
    out["count"] = sum(1 for _ in layer.getFeatures())
else:
    provider = layer.dataProvider()
    out["error"] = provider.error().summary() if provider is not None else "no provider"
print(json.dumps(out, ensure_ascii=False), flush=True)
# QGIS 3.22 crashes in its teardown (exitQgis, or interpreter exit with a layer alive):
# everything is said, so leave without it.
os._exit(0)
