import { BoardReader } from '../board';
import { GitAdapter } from '../git/adapter';
import { Repository } from '../repo';
import { TaskStore } from './store';

/** What every group of operation steps works with: the repository, its git, its store and the read model. */
export abstract class OperationSteps {
  protected readonly git: GitAdapter;
  protected readonly store: TaskStore;

  constructor(
    protected readonly repo: Repository,
    protected readonly reader: BoardReader,
  ) {
    this.git = repo.git;
    this.store = repo.store;
  }
}
