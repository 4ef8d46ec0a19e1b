// Where a model's answers come from. A model of the service: its API. A model this tab trained
// and has not kept (browser-training.js sets its `local`): the browser trainer's own functions on
// the tab's copy of the test set, the same answers as the API's, computed here without the service.

import { api } from './api.js';

export function sourceOf(model) {
  if (model?.local) return model.local;
  const id = encodeURIComponent(model?.id ?? '');
  return {
    testImages: (offset, limit) => api(`/datasets/fashion-mnist/test?offset=${offset}&limit=${limit}`),
    testImage: (index) => api(`/datasets/fashion-mnist/test/${index}`),
    predict: async (images) => (await api('/predict', { method: 'POST', body: { model: model.id, images } })).predictions,
    evaluation: (minConfidence) => api(`/models/${id}/evaluation${minConfidence === undefined ? '' : `?minConfidence=${minConfidence}`}`),
    weights: async () => (await api(`/models/${id}`)).weights,
  };
}
