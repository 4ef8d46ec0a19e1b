// The service's version: in the OpenAPI document, /v2's server metadata and exported models.
export const apiVersion = '0.1.0';
