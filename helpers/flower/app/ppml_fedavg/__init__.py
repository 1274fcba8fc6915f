"""FedAvg on Flower for lesson 06: the ServerApp aggregates, each ClientApp runs helpers.federated.client_update."""
